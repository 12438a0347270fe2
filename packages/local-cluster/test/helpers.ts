/** What the local-cluster tests share: liveness by pid, a router's view, presence keys. */
import { createClient } from 'redis';

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The instance ids of `service` a router routes to (its in-memory view). */
export async function routerSees(routerUrl: string, service: string): Promise<string[]> {
  const res = await fetch(`${routerUrl}/v1/router/list/services`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as { result: Array<{ serviceName: string; instanceID: string }> };
  return body.result.filter((i) => i.serviceName === service).map((i) => i.instanceID).sort();
}

export async function presenceKeys(url: string): Promise<string[]> {
  const redis = createClient({ url });
  await redis.connect();
  try {
    return await redis.keys('hydra:service:*:presence');
  } finally {
    await redis.close();
  }
}

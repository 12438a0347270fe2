/** What the local-cluster tests share: liveness by pid, a router's view, a bounded request loop. */
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

export interface LoopResult {
  sent: number;
  failed: number;
  failures: string[];
  versions: string[];
}

/**
 * GETs `url` from `workers` concurrent loops until stop() is called, at most
 * `maxRequests` in all and `maxMs` long. Records each answer's result.version in order.
 */
export function requestLoop(url: string, { workers = 4, maxRequests = 20_000, maxMs = 120_000 } = {}): { progress: () => LoopResult; stop: () => Promise<LoopResult> } {
  const result: LoopResult = { sent: 0, failed: 0, failures: [], versions: [] };
  const deadline = Date.now() + maxMs;
  let stopped = false;
  const one = async () => {
    while (!stopped && result.sent < maxRequests && Date.now() < deadline) {
      result.sent++;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        const body = (await res.json()) as { result?: { version?: string } };
        if (res.status !== 200) throw new Error(`HTTP ${res.status} ${JSON.stringify(body)}`);
        result.versions.push(body.result?.version ?? '?');
      } catch (err) {
        result.failed++;
        if (result.failures.length < 10) result.failures.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: workers }, one);
  return {
    progress: () => result,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return result;
    },
  };
}

/**
 * The router under faults of its own and of its upstreams: config values that
 * would take it down, stopping in every state, serving only once its route
 * table is loaded, hung instances, outlier ejection, and what it logs about
 * them. Real processes on a redis-server of this file's own (no shared database).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Processes, http, waitFor, freePort, agent, ROUTER_BIN, binNodeFlags, type Proc } from './helpers.js';

const DB = 0;
const procs = new Processes();
const dir = mkdtempSync(join(tmpdir(), 'router-availability-'));
let redis: Awaited<ReturnType<Processes['redisServer']>>;
let url = '';

before(async () => {
  redis = await procs.redisServer();
  url = redis.url(DB);
});

after(async () => {
  await procs.killAll();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

function configFile(name: string, settings: Record<string, unknown>): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(settings));
  return path;
}

function startRouter(name: string, config?: string): Proc {
  return procs.start(name, ROUTER_BIN, config ? [config] : [], {
    HYDRA_REDIS_URL: url,
    HYDRA_SERVICE: JSON.stringify({ servicePort: 0, serviceIP: '127.0.0.1' }),
  }, binNodeFlags(ROUTER_BIN));
}

/** Child pids of `pid` (a cluster primary's workers). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** True while `pid` exists and is not a zombie. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('a numeric setting outside its range stops the start with a message naming the field and the range', async () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ workers: 1000 }, /router config field workers must be an integer from 1 to 32, not 1000/],
    [{ requestTimeout: 1e308 }, /router config field requestTimeout must be a number from 0.01 to 3600 \(seconds\), not 1e\+308/],
    [{ maxAttempts: 2.5 }, /router config field maxAttempts must be an integer from 1 to 10, not 2.5/],
    [{ bodyLimit: -1 }, /router config field bodyLimit must be an integer from 1 to 1073741824 \(bytes\), not -1/],
    [{ upstreamConnections: '8' }, /router config field upstreamConnections must be an integer from 1 to 10000, not "8"/],
    [{ wsQueueTtl: 0 }, /router config field wsQueueTtl must be an integer from 1 to 604800 \(seconds\), not 0/],
  ];
  await Promise.all(cases.map(async ([settings, expected], i) => {
    const proc = startRouter(`router (bad config ${i})`, configFile(`bad-${i}`, settings));
    assert.equal(await proc.waitExit(60_000), 1, proc.lines.join('\n'));
    assert.match(proc.lines.join('\n'), expected);
    assert.deepEqual(childrenOf(proc.pid), [], 'no worker was started');
  }));
});

test('SIGTERM stops a router with workers that are still starting, and leaves no worker behind', async () => {
  const proc = startRouter('router (workers starting)', configFile('workers-starting', { workers: 3 }));
  await proc.waitLine('the primary started its workers', (j) => j.msg === 'hydra-router primary started its workers', 60_000);
  const workers = childrenOf(proc.pid);
  assert.equal(workers.length, 3);
  proc.kill('SIGTERM');
  assert.notEqual(await proc.waitExit(15_000), null, 'the primary exited');
  await waitFor('every worker to be gone', () => workers.every((pid) => !running(pid)));
});

test('SIGTERM while a dead worker waits to be restarted stops everything: no worker is started after the stop', async () => {
  const proc = startRouter('router (worker restart pending)', configFile('workers-restart', { workers: 2 }));
  const readyLines = () => proc.lines.filter((l) => l.includes('"msg":"hydra-router ready"'));
  await proc.waitLine('two workers ready', () => readyLines().length === 2, 60_000);
  const port = (JSON.parse(readyLines()[0]!) as { port: number }).port;
  const backend = await procs.backend(DB, 'restart-svc', ['[get]/v1/restart/slow'], { HYDRA_REDIS_URL: url });
  const [victim, survivor] = childrenOf(proc.pid);
  process.kill(victim!, 'SIGKILL');
  await proc.waitLine('the primary to see the death', (j) => j.msg === 'a router worker died; starting another', 60_000);
  // The survivor holds a slow request, so its graceful stop outlasts the primary's 1 s restart delay.
  const slow = waitFor('the survivor to route', async () => {
    const r = await http(`http://127.0.0.1:${port}/v1/restart/slow?ms=2500`);
    return r.status === 200 ? r : undefined;
  });
  await waitFor('the slow request in flight', async () => (await http(`http://127.0.0.1:${backend.port}/in-flight`)).json().slowInFlight === 1);
  proc.kill('SIGTERM');
  assert.equal((await slow).status, 200, 'the request in flight was finished');
  assert.equal(await proc.waitExit(15_000), 0);
  assert.equal(running(survivor!), false);
  assert.equal(readyLines().length, 2, 'no worker started after the stop');
});

test('a worker that does not stop is killed after a grace period, and the primary exits', async () => {
  const proc = startRouter('router (worker hung)', configFile('workers-hung', { workers: 2 }));
  await proc.waitLine('two workers ready', () => proc.lines.filter((l) => l.includes('"msg":"hydra-router ready"')).length === 2, 60_000);
  const workers = childrenOf(proc.pid);
  process.kill(workers[0]!, 'SIGSTOP');
  try {
    proc.kill('SIGTERM');
    assert.notEqual(await proc.waitExit(25_000), null, 'the primary exited');
    await waitFor('every worker to be gone', () => workers.every((pid) => !running(pid)));
    assert.match(proc.lines.join('\n'), /router workers did not stop within 10000 ms; killing them/);
  } finally {
    if (running(workers[0]!)) {
      process.kill(workers[0]!, 'SIGCONT');
      process.kill(workers[0]!, 'SIGKILL');
    }
  }
});

/** Starts a router (bin) with `settings`; resolves once it serves. */
async function router(name: string, settings: Record<string, unknown> = {}): Promise<{ proc: Proc; base: string }> {
  const proc = startRouter(name, configFile(name.replace(/\W+/g, '-'), settings));
  const ready = await proc.waitLine<{ msg?: string; port?: number }>('router ready', (j) => j.msg === 'hydra-router ready', 60_000);
  return { proc, base: `http://127.0.0.1:${ready.port}` };
}

/** GETs `url` until each of `instances` has answered. */
async function untilServedBy(url: string, instances: string[]): Promise<void> {
  await waitFor(`${instances.length} instances behind ${url}`, async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4 * instances.length; i++) seen.add((await http(url)).json().instance);
    return instances.every((id) => seen.has(id));
  }, 30_000);
}

test('a dead upstream is logged under upstreamService/upstreamInstance, so the router keeps its own service/instance', async () => {
  const { proc, base } = await router('router (logs)');
  const routes = ['[get]/v1/logs/who'];
  const victim = await procs.backend(DB, 'logs-svc', routes, { HYDRA_REDIS_URL: url });
  const survivor = await procs.backend(DB, 'logs-svc', routes, { HYDRA_REDIS_URL: url });
  await untilServedBy(`${base}/v1/logs/who`, [victim.instanceId, survivor.instanceId]);
  victim.proc.kill('SIGKILL');
  await victim.proc.waitExit();
  const refused = (l: string) => l.includes('instance refused a connection');
  // Until its presence expires the router may still pick it: once is enough to log the refusal.
  await waitFor('the router to be refused by the dead instance', async () => {
    assert.equal((await http(`${base}/v1/logs/who`)).status, 200);
    return proc.lines.some(refused);
  }, 30_000);
  const line = proc.lines.find(refused)!;
  for (const key of ['service', 'instance', 'upstreamService', 'upstreamInstance']) {
    assert.equal(line.split(`"${key}":`).length, 2, `"${key}" appears once in ${line}`);
  }
  const fields = JSON.parse(line) as Record<string, string>;
  assert.equal(fields.service, 'hydra-router');
  assert.match(fields.instance!, /^[0-9a-f]{32}$/);
  assert.equal(fields.upstreamService, 'logs-svc');
  assert.equal(fields.upstreamInstance, victim.instanceId);
});

test('a starting router answers no request before its route table is loaded: never a 404 for a registered route', async () => {
  const backend = await procs.backend(DB, 'boot-svc', ['[get]/v1/boot/who'], { HYDRA_REDIS_URL: url });
  const port = await freePort();
  const statuses = new Map<string, number>();
  let running = true;
  let attempts = 0;
  // Clients knocking from before the router exists until it answers 200 (bounded in count and time).
  const deadline = Date.now() + 60_000;
  const knock = async () => {
    while (running && Date.now() < deadline && attempts < 200_000) {
      attempts++;
      let key: string;
      try {
        const r = await http(`http://127.0.0.1:${port}/v1/boot/who`);
        key = r.status === 200 ? '200' : `${r.status} ${r.text}`;
        if (r.status === 200) running = false;
      } catch {
        key = 'no connection';
        await new Promise((r) => setTimeout(r, 1));
      }
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
  };
  const knocking = Promise.all(Array.from({ length: 8 }, knock));
  const proc = procs.start('router (boot)', ROUTER_BIN, [], {
    HYDRA_REDIS_URL: url,
    HYDRA_SERVICE: JSON.stringify({ servicePort: port, serviceIP: '127.0.0.1' }),
  }, binNodeFlags(ROUTER_BIN));
  await knocking;
  assert.equal(running, false, `the router answered 200 in time: ${proc.lines.slice(-5).join('\n')}`);
  const other = [...statuses.keys()].filter((k) => k !== '200' && k !== 'no connection');
  assert.deepEqual(other, [], `answers other than 200 while starting: ${JSON.stringify([...statuses])}`);
  assert.ok(statuses.get('200')! >= 1);
  assert.equal((await http(`http://127.0.0.1:${port}/v1/boot/who`)).json().instance, backend.instanceId);
});

/** Until `until` or `max` requests: `loops` concurrent GET loops; each answer's status and wait. */
async function getLoad(url: string, loops: number, until: number, max: number): Promise<Array<{ status: number; ms: number; instance?: string }>> {
  const out: Array<{ status: number; ms: number; instance?: string }> = [];
  const loop = async () => {
    while (Date.now() < until && out.length < max) {
      const t = performance.now();
      const r = await http(url);
      out.push({ status: r.status, ms: performance.now() - t, instance: r.status === 200 ? r.json().instance : r.text });
    }
  };
  await Promise.all(Array.from({ length: loops }, loop));
  return out;
}

test('an instance hung under GET load (SIGSTOP): its requests go to the other instance once its presence expires; no GET fails', async () => {
  // requestTimeout 20 s: without the hand-back, the requests the hung instance holds end 504 after it.
  const { base, proc } = await router('router (hang)', { requestTimeout: 20 });
  const routes = ['[get]/v1/hang/who', '[post]/v1/hang/count'];
  const hung = await procs.backend(DB, 'hang-svc', routes, { HYDRA_REDIS_URL: url });
  const healthy = await procs.backend(DB, 'hang-svc', routes, { HYDRA_REDIS_URL: url });
  await untilServedBy(`${base}/v1/hang/who`, [hung.instanceId, healthy.instanceId]);
  try {
    const load = getLoad(`${base}/v1/hang/who`, 8, Date.now() + 8000, 50_000);
    await new Promise((r) => setTimeout(r, 1000));
    hung.proc.kill('SIGSTOP');
    // A POST sent to the hung instance is not replayed: it is answered as soon as the presence expires.
    const posts = Promise.all(Array.from({ length: 4 }, () => http(`${base}/v1/hang/count`, { method: 'POST', body: '{}' })));
    const answers = await load;
    const failed = answers.filter((a) => a.status !== 200);
    assert.deepEqual(failed, [], `${failed.length} of ${answers.length} GETs failed`);
    const byHung = answers.filter((a) => a.instance === hung.instanceId).length;
    assert.ok(byHung > 0, 'the hung instance served before it stopped');
    for (const p of await posts) {
      if (p.status === 200) continue;
      assert.equal(p.status, 504, p.text);
      assert.match(p.json().result.reason, /POST to hang-svc: instance [0-9a-f]{32} stopped heartbeating \(its presence expired\) while the request was in flight; not retried: POST is not idempotent/);
    }
    assert.ok(proc.lines.some((l) => l.includes('instance stopped heartbeating with requests in flight')), 'requests were handed back');
  } finally {
    hung.proc.kill('SIGCONT');
    hung.proc.kill('SIGKILL');
  }
});

test('an instance failing answers in a row is taken out of rotation (outlier detection)', async () => {
  const { base, proc } = await router('router (outlier)', { outlierFailures: 3, outlierEjection: 60 });
  const routes = ['[get]/v1/outlier/flaky'];
  const good = await procs.backend(DB, 'outlier-svc', routes, { HYDRA_REDIS_URL: url });
  await waitFor('the good instance routed', async () => (await http(`${base}/v1/outlier/flaky`)).status === 200, 30_000);
  const flaky = await procs.backend(DB, 'outlier-svc', routes, { HYDRA_REDIS_URL: url, BACKEND_FLAKY: '1' });
  // Its first 500 is its first failure in a row.
  await waitFor('the flaky instance routed', async () => (await http(`${base}/v1/outlier/flaky`)).status === 500, 30_000);
  let errors = 0;
  for (let i = 0; i < 30; i++) if ((await http(`${base}/v1/outlier/flaky`)).status === 500) errors++;
  assert.ok(errors <= 2, `${errors} answers of 30 more were 500: the flaky instance was not ejected after 3 in a row`);
  const line = proc.lines.find((l) => l.includes('taken out of rotation (outlier)'));
  assert.ok(line, 'the ejection is logged');
  const fields = JSON.parse(line) as Record<string, unknown>;
  assert.equal(fields.upstreamInstance, flaky.instanceId);
  assert.equal(fields.failuresInARow, 3);
  assert.equal(fields.outOfRotationMs, 60_000);
  assert.equal((await http(`${base}/v1/outlier/flaky`)).json().instance, good.instanceId);
});

/**
 * The programs of docs/guide.md (docs/examples/, compiled by `npm run build`) run as a
 * reader would run them, against a redis-server of this test's own: the items service
 * and the pricer as processes, the caller, the queue producer and worker, a config
 * pushed with hydra-cli and loaded through HYDRA_SERVICE, the guide's own test file,
 * and a graceful stop. What each prints is what the guide says it prints.
 *
 * The TypeScript in the docs is checked to be these files: every ```ts block of
 * the documents below is an excerpt of one of them (so it compiles, and runs here).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { Hydra, keys } from '@hydra-ts/core';
import { pino } from 'pino';
import { freePort, startRedisServer, waitFor, type Started } from '@hydra-ts/testing';
import { startProcess, stopAllProcesses, ROOT } from './helpers/processes.js';

const EXAMPLES = join(ROOT, 'docs/examples/dist');
/** Documents whose ```ts blocks must be excerpts of docs/examples/{src,test}. */
const DOCUMENTS = ['README.md', 'docs/guide.md', 'packages/core/README.md', 'packages/express/README.md'];
const CLI = join(ROOT, 'packages/cli/dist/src/main.js');
const ROUTER = join(ROOT, 'packages/router/bin/hydra-router.js');

let server: { stop: () => Promise<void> };
let url: string;
let redis: ReturnType<typeof createClient>;
let dir: string;

before(async () => {
  const port = await freePort();
  server = await startRedisServer(port);
  url = `redis://127.0.0.1:${port}/0`;
  redis = createClient({ url });
  await redis.connect();
  dir = mkdtempSync(join(tmpdir(), 'hydra-ts-docs-'));
});
after(async () => {
  await stopAllProcesses();
  await redis?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ HYDRA_REDIS_URL: url, HYDRA_SERVICE: undefined, HYDRA_LOG_LEVEL: 'warn' });

/** Runs an example to its end; resolves with its stdout lines, fails with its output when it fails. */
async function run(script: string, extraEnv: Record<string, string | undefined> = {}): Promise<string[]> {
  const p = startProcess([join(EXAMPLES, script)], { ...env(), ...extraEnv });
  const [code] = (await once(p.child, 'exit')) as [number | null];
  assert.equal(code, 0, `${script} exited ${code}:\n${p.output()}`);
  return p.lines;
}

/** Starts a long-running example and waits for the line saying it is ready. */
async function serve(script: string, ready: RegExp, extraEnv: Record<string, string | undefined> = {}): Promise<{ p: Started; match: RegExpMatchArray }> {
  const p = startProcess([join(EXAMPLES, script)], { ...env(), ...extraEnv });
  const match = await waitFor(() => `${script} to print ${ready}; output: ${p.output()}`, () => p.lines.map((l) => l.match(ready)).find((m) => m), 15_000);
  return { p, match };
}

async function stopGracefully(p: Started): Promise<number | null> {
  const exited = once(p.child, 'exit') as Promise<[number | null]>;
  p.child.kill('SIGTERM');
  return (await exited)[0];
}

test('the items service and the pricer answer the caller: request/reply, a timeout, HTTP through the registry', async () => {
  const items = await serve('src/items-main.js', /^items ([0-9a-f]{32}) listening on (\d+)$/);
  const pricer = await serve('src/pricer.js', /^pricer [0-9a-f]{32} ready$/);
  const lines = await run('src/ask.js');
  assert.deepEqual(lines, [
    'price {"sku":"A1","price":42}',
    'no reply TIMEOUT',
    'created 201 {"id":"1","name":"lamp"}',
    `fetched 200 {"id":"1","name":"lamp","servedBy":"${items.match[1]}"}`,
    'count {"count":1}',
    'missing 503 {"reason":"Unavailable nowhere instances"}',
  ]);
  const res = await fetch(`http://127.0.0.1:${items.match[2]}/v1/items/1`);
  assert.equal(res.headers.get('x-items-limit'), '100', 'the middleware hook ran');

  // SIGTERM: presence goes, the process exits 0.
  assert.equal(await stopGracefully(items.p), 0, items.p.output());
  assert.equal(await redis.exists(keys.presence('items', items.match[1]!)), 0, 'no presence left behind');
  assert.equal(await stopGracefully(pricer.p), 0, pricer.p.output());
});

test('behind a router: the items routes answer through hydra-router, by route and by service name', async () => {
  const items = await serve('src/items-main.js', /^items ([0-9a-f]{32}) listening on (\d+)$/);
  const port = await freePort();
  const router = startProcess([ROUTER], { ...env(), HYDRA_SERVICE: JSON.stringify({ serviceIP: '127.0.0.1', servicePort: port }) });
  const base = `http://127.0.0.1:${port}`;
  const created = await waitFor(
    () => `the router on ${port} to pass POST /v1/items on; output: ${router.output()}`,
    async () => {
      const res = await fetch(`${base}/v1/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"lamp"}' });
      return res.status === 201 ? ((await res.json()) as { result: { id: string } }) : undefined;
    },
    15_000,
    200,
  );
  const byRoute = (await (await fetch(`${base}/v1/items/${created.result.id}`)).json()) as { result: { servedBy: string } };
  assert.equal(byRoute.result.servedBy, items.match[1]);
  const byName = await fetch(`${base}/items/v1/items/${created.result.id}`);
  assert.equal(byName.status, 200);
  const routes = (await (await fetch(`${base}/v1/router/list/routes`)).json()) as { result: Array<{ serviceName: string; routes: string[] }> };
  assert.ok(JSON.stringify(routes.result).includes('/v1/items/:id'), JSON.stringify(routes.result));
  assert.equal(await stopGracefully(router), 0, router.output());
  assert.equal(await stopGracefully(items.p), 0, items.p.output());
});

test('queued orders wait for the worker, which marks each done or failed', async () => {
  const queued = await run('src/place-orders.js');
  assert.deepEqual(queued.map((l) => l.replace(/ [0-9a-f-]{36} /, ' <mid> ')), ['queued <mid> 1', 'queued <mid> 3', 'queued <mid> 0']);
  const worked = await run('src/orders-worker.js');
  assert.deepEqual(worked.map((l) => l.replace(/ [0-9a-f-]{36} /, ' <mid> ')), ['done <mid> 1', 'done <mid> 3', 'failed <mid> 0']);
  const incomplete = await redis.lRange(keys.queueIncomplete('orders'), 0, -1);
  assert.equal(incomplete.length, 1);
  assert.equal(JSON.parse(incomplete[0]!).bdy.reason, 'qty must be positive, not 0');
  assert.equal(await redis.lLen(keys.queueReceived('orders')), 0);
  assert.equal(await redis.lLen(keys.queueInProgress('orders')), 0);
});

test('a config pushed with hydra-cli is the whole document of a service started with HYDRA_SERVICE=<svc>:<version>', async () => {
  const file = join(dir, 'items.json');
  writeFileSync(file, JSON.stringify({ hydra: { serviceName: 'items', serviceIP: '127.0.0.1', servicePort: 0 }, items: { maxItems: 1 } }));
  const push = startProcess([CLI, 'cfg', 'push', 'items:2.0.0', file, '--redis', url]);
  const [code] = (await once(push.child, 'exit')) as [number | null];
  assert.equal(code, 0, push.output());

  const items = await serve('src/items-main.js', /^items ([0-9a-f]{32}) listening on (\d+)$/, { HYDRA_SERVICE: 'items:2.0.0' });
  const post = () => fetch(`http://127.0.0.1:${items.match[2]}/v1/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' });
  assert.equal((await post()).status, 201);
  const refused = await post();
  assert.equal(refused.status, 409, 'maxItems 1 came from the stored config, not the program\'s 100');
  assert.equal(await stopGracefully(items.p), 0, items.p.output());
});

test('what the guide says of a caller that does not register: request() fails with NOT_REGISTERED, makeAPIRequest and sends work', async () => {
  const caller = await Hydra.create({ hydra: { serviceName: 'unregistered-caller', redis: { url } } }, { env: {}, logger: pino({ level: 'silent' }) });
  try {
    await assert.rejects(caller.request({ to: 'pricer:/', body: {} }, 1000), { code: 'NOT_REGISTERED', message: /unregistered-caller must call registerService\(\) first/ });
    const answer = await caller.makeAPIRequest({ to: 'nowhere:[get]/v1/x', body: {} });
    assert.equal(answer.statusCode, 503, 'makeAPIRequest answers without registration');
  } finally {
    await caller.close();
  }
});

test("the guide's test file passes against this Redis", async () => {
  // NODE_TEST_CONTEXT (set by this runner for its children) would make the inner runner skip its files.
  const p = startProcess(['--test', join(EXAMPLES, 'test/items.test.js')], { ...env(), NODE_TEST_CONTEXT: undefined });
  const [code] = (await once(p.child, 'exit')) as [number | null];
  assert.equal(code, 0, p.output());
  assert.match(p.output(), /# pass 3/);
});

/**
 * The ```ts blocks of a Markdown text. A line `// ...` inside one marks an elision:
 * the parts around it must appear in the file in that order.
 */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

function isExcerptOf(block: string, source: string): boolean {
  let from = 0;
  for (const part of block.split(/^\s*\/\/ \.\.\.\n/m)) {
    const at = source.indexOf(part, from);
    if (at < 0) return false;
    from = at + part.length;
  }
  return true;
}

test('every TypeScript snippet in the docs is an excerpt of a compiled, tested example', () => {
  const sources = ['src', 'test'].flatMap((d) =>
    readdirSync(join(ROOT, 'docs/examples', d))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => ({ name: `docs/examples/${d}/${f}`, text: readFileSync(join(ROOT, 'docs/examples', d, f), 'utf8') })),
  );
  let checked = 0;
  for (const doc of DOCUMENTS) {
    for (const block of tsBlocks(readFileSync(join(ROOT, doc), 'utf8'))) {
      checked++;
      assert.ok(
        sources.some((s) => isExcerptOf(block, s.text)),
        `a \`\`\`ts block of ${doc} is in no file of docs/examples (copy it from there, or add it there):\n${block}`,
      );
    }
  }
  assert.ok(checked >= 10, `only ${checked} snippets found: are the documents still there?`);
});

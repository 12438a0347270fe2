/**
 * The cluster under faults (issue 7): the article's 3 managers and 5 workers with
 * HAProxy in front and a Redis with AOF, broken six ways under a steady, bounded
 * stream of GETs through the balancer (src/drill/drill.ts). What clients saw is
 * asserted here; `npm run bench:cluster` prints the same figures.
 * Needs Debian's haproxy (in the README's prerequisites).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haproxyInstalled, runFaultDrill, formatStep, type StepResult } from '../src/index.js';

test('the cluster under faults: hosts, a router and Redis die, a rollout and a scale run, and clients barely notice', { timeout: 15 * 60_000 }, async () => {
  assert.ok(haproxyInstalled(), 'the fault test needs HAProxy in front of the routers: apt-get install haproxy');
  const drill = await runFaultDrill({ onEvent: (line) => console.log(`# ${line.replaceAll('\n', '\n# ')}`) });
  const [worker, router, rollout, redis, scale, game] = drill.steps as [StepResult, StepResult, StepResult, StepResult, StepResult, StepResult];
  const report = drill.steps.map(formatStep).join('\n');

  // 1. A worker host dies: the routers retry its refused connections elsewhere; its presence expires (3 s TTL).
  assert.equal(worker.failed, 0, report);
  assert.ok(worker.sent > 0, report);
  // Presence expires 3 s after its last refresh; the listing polls add their own latency on a busy box.
  assert.ok(worker.convergeMs! <= 6000, `its instances should leave every router about 3 s after the kill (presence TTL); ${report}`);
  // 2. A router dies: at most the requests in flight on it fail.
  assert.ok(router.failed <= router.figures.inFlightAtMost!, report);
  // 3. A rolling update: nothing fails, and the answers switch version for good.
  assert.equal(rollout.failed, 0, report);
  assert.ok(rollout.figures.newAnswers! > 0 && rollout.figures.oldAnswers! > 0, report);
  assert.ok(rollout.figures.oldLastMs! <= rollout.convergeMs!, `no old-version answer after the rollout finished; ${report}`);
  // 4. Redis restarts: everything re-registers, nothing crashed, acknowledged queue entries survived.
  assert.ok(redis.convergeMs! <= 5000, report);
  assert.equal(redis.figures.processesAlive, redis.figures.processesBefore, report);
  assert.equal(redis.figures.queuedAfter, redis.figures.queuedBefore, report);
  // 5. Scale 5 → 8 → 3: each change reaches every router quickly, and the count is right.
  assert.ok(scale.convergeMs! <= 2000, report);
  assert.equal(scale.figures.instancesAfter, 3, report);
  assert.equal(scale.failed, 0, report);
  // 6. The potato's holder dies mid-game: the game answers with a result naming it.
  assert.equal(game.figures.hostKilled, 1, report);
  assert.equal(game.failed, 0, report);
  assert.equal(game.figures.holderLeft, 1, report);

  assert.deepEqual(drill.unexpectedExits, [], 'no process exited on its own');
});

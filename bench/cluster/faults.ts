/**
 * The cluster under faults, as figures (`npm run bench:cluster`): builds the
 * article's cluster (3 routers behind HAProxy, 5 workers, a Redis with AOF) on
 * loopback addresses and breaks it six ways under a steady, bounded GET stream
 * through the balancer; prints requests sent and failed and the time to converge
 * for each step, with the target beside it. No baseline to compare with:
 * these are availability figures, not speed. Needs Debian's haproxy.
 *
 * `node bench/dist/cluster/faults.js [--verbose] [step…]`: steps by name (killWorker,
 * killRouter, rollout, restartRedis, scale, killPlayerMidGame) run only those.
 */
import { runFaultDrill, formatStep, STEP_NAMES, type StepName } from '@hydra-ts/local-cluster';

const TARGETS = ['leave every router within 3000 ms, 0 failed', 'only requests in flight fail (<= 4)', '0 failed, answers switch version', 'back within 5000 ms, 0 crashed, queue kept', 'every router within 2000 ms', 'the game ends with a result'];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const only = args.filter((a) => a !== '--verbose');
  const unknown = only.filter((a) => !STEP_NAMES.includes(a as StepName));
  if (unknown.length) throw new Error(`unknown step ${unknown.join(', ')}; steps: ${STEP_NAMES.join(', ')}`);
  const drill = await runFaultDrill({ only: only.length ? (only as StepName[]) : undefined, onEvent: verbose ? (line) => console.log(`  ${line}`) : undefined });
  console.log(`cluster up in ${drill.startMs} ms`);
  for (const s of drill.steps) console.log(`${formatStep(s)}\n    target: ${TARGETS[STEP_NAMES.indexOf(s.name)]}`);
  console.log(`processes that exited on their own: ${drill.unexpectedExits.length ? drill.unexpectedExits.join('; ') : 'none'}`);
}

main().catch((err: unknown) => {
  console.error(`bench:cluster: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

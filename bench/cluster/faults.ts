/**
 * The cluster under faults, as figures (`npm run bench:cluster`): builds the
 * article's cluster (3 routers behind HAProxy, 5 workers, a Redis with AOF) on
 * loopback addresses and breaks it six ways under a steady, bounded GET stream
 * through the balancer; prints requests sent and failed and the time to converge
 * for each step, with the target beside it. No baseline to compare with:
 * these are availability figures, not speed. Needs Debian's haproxy.
 */
import { runFaultDrill, formatStep } from '@hydra-ts/local-cluster';

const TARGETS = ['leave every router within 3000 ms, 0 failed', 'only requests in flight fail (<= 4)', '0 failed, answers switch version', 'back within 5000 ms, 0 crashed, queue kept', 'every router within 2000 ms', 'the game ends with a result'];

async function main(): Promise<void> {
  const verbose = process.argv.includes('--verbose');
  const drill = await runFaultDrill({ onEvent: verbose ? (line) => console.log(`  ${line}`) : undefined });
  console.log(`cluster of ${drill.steps.length} steps; start-up ${drill.startMs} ms`);
  drill.steps.forEach((s, i) => console.log(`${i + 1}. ${formatStep(s)}\n    target: ${TARGETS[i]}`));
  console.log(`processes that exited on their own: ${drill.unexpectedExits.length ? drill.unexpectedExits.join('; ') : 'none'}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/**
 * hydra-cluster: the article's cluster on one machine (`npm start`).
 *   hydra-cluster [--managers 3] [--workers 5] …     start it, report, follow it; commands at the prompt
 *   hydra-cluster ctl <command…>                       send a command to a running cluster
 */
import { createInterface, type Interface } from 'node:readline';
import { Command, InvalidArgumentError } from 'commander';
import { Cluster } from './cluster.js';
import { runCommand } from './commands.js';
import { findClusters, sendControl } from './control.js';
import { commandHelp, startReport } from './report.js';
import { startTelemetry } from '@hydra-ts/core';

/** `--otlp <url>`: an OTLP/HTTP endpoint (a collector's base URL, e.g. http://127.0.0.1:4318). */
function otlpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL: give the OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`"${value}" is not an http(s) URL: OTLP over HTTP needs one, e.g. http://127.0.0.1:4318`);
  return value;
}

function int(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a whole number`);
  return Number(value);
}

/** Stop requests this close to the first are the same Ctrl-C delivered twice (see shutdown). */
const SAME_CTRL_C_MS = 1000;

const stamp = () => new Date().toISOString().slice(11, 19);

interface StartFlags {
  managers: number;
  workers: number;
  instances?: number;
  services?: string;
  redis?: string;
  routerPort: number;
  helloPort?: number;
  hppPort?: number;
  managerPrefix: string;
  workerPrefix: string;
  balancer: boolean;
  balancerPort: number;
  control: boolean;
  otlp?: string;
  traces: boolean;
}

async function startCommand(flags: StartFlags): Promise<void> {
  // Every process of the cluster inherits this environment: each one's spans go to the endpoint.
  if (flags.otlp) process.env.OTEL_EXPORTER_OTLP_ENDPOINT = flags.otlp;
  const telemetry = startTelemetry('hydra-cluster', () => require('@opentelemetry/sdk-node'));
  const exit = (code: number) => void (telemetry?.shutdown() ?? Promise.resolve()).finally(() => process.exit(code));
  let rl: Interface | undefined;
  const say = (line: string) => {
    if (rl) process.stdout.write('\r\x1b[K');
    process.stdout.write(`${line}\n`);
    rl?.prompt(true);
  };
  const servicePorts: Record<string, number> = {};
  if (flags.helloPort !== undefined) servicePorts['hello-service'] = flags.helloPort;
  if (flags.hppPort !== undefined) servicePorts['hpp-service'] = flags.hppPort;
  let cluster: Cluster;
  try {
    cluster = new Cluster({
      managers: flags.managers,
      workers: flags.workers,
      instances: flags.instances,
      services: flags.services?.split(',').map((s) => s.trim()).filter(Boolean),
      redisUrl: flags.redis,
      routerPort: flags.routerPort,
      servicePorts,
      managerPrefix: flags.managerPrefix,
      workerPrefix: flags.workerPrefix,
      balancer: flags.balancer ? undefined : false,
      balancerPort: flags.balancerPort,
      controlSocket: flags.control,
      dashboardTraces: flags.traces && !flags.otlp,
      onEvent: (line) => say(`${stamp()} ${line}`),
    });
  } catch (err) {
    process.stderr.write(`hydra-cluster: ${(err as Error).message}\n`);
    process.exit(2);
  }

  let signals = 0;
  let firstStopAt = 0;
  const shutdown = (why: string) => {
    // One Ctrl-C can arrive twice: the terminal signals the whole foreground group, and
    // `npm start` (which execs this bin) forwards its own copy. A repeat within
    // SAME_CTRL_C_MS is that copy; a later one is a second request, which forces.
    if (signals > 0 && Date.now() - firstStopAt < SAME_CTRL_C_MS) return;
    if (++signals > 1) {
      say('second stop request: SIGKILL to everything still running');
      cluster.killAllNow();
      process.exit(1);
    }
    firstStopAt = Date.now();
    rl?.close();
    rl = undefined;
    say(`${why}: stopping every process gracefully (SIGTERM: presence withdrawn, requests drained)…`);
    void cluster.stop();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  process.stdout.write(`hydra-cluster: starting ${flags.managers} managers and ${flags.workers} workers…\n`);
  try {
    await cluster.start();
  } catch (err) {
    process.stderr.write(`hydra-cluster: cannot start: ${(err as Error).message}\n`);
    await cluster.stop();
    process.exit(1);
  }
  if (signals > 0) return;
  process.stdout.write(startReport(cluster));
  cluster.announce();

  if (process.stdin.isTTY) {
    rl = createInterface({ input: process.stdin, output: process.stdout, prompt: 'cluster> ' });
    rl.on('SIGINT', () => shutdown('Ctrl-C'));
    rl.on('close', () => rl && shutdown('end of input'));
    rl.on('line', (line) => {
      void runCommand(cluster, line).then((r) => {
        if (r.text) say(r.text);
        if (r.stop) shutdown('stop command');
      });
    });
    rl.prompt();
  }
  await cluster.stopped;
  process.stdout.write(`${stamp()} stopped: no process of the cluster left\n`);
  exit(0);
}

async function ctlCommand(words: string[], flags: { socket?: string; json?: boolean; timeout: number }): Promise<void> {
  let socket = flags.socket ?? process.env.HYDRA_CLUSTER_SOCKET;
  if (!socket) {
    const live = await findClusters();
    if (live.length === 0) throw new Error('no running hydra-cluster found (start one with npm start, or pass --socket <path>)');
    if (live.length > 1) throw new Error(`several clusters are running; pick one with --socket:\n  ${live.join('\n  ')}`);
    socket = live[0]!;
  }
  const result = await sendControl(socket, words.join(' '), flags.timeout * 1000);
  process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${result.text}\n`);
  process.exitCode = result.ok ? 0 : 1;
}

const VERSION = (require('../../package.json') as { version: string }).version;

const program = new Command('hydra-cluster')
  .version(VERSION)
  .showHelpAfterError()
  .description("The article's cluster on one machine: routers on simulated manager hosts behind HAProxy, hello-service and hpp-service on simulated worker hosts, each host its own loopback address")
  .option('--managers <n>', 'manager hosts, one router each', int, 3)
  .option('--workers <n>', 'worker hosts', int, 5)
  .option('--instances <n>', 'instances of each service at start (default: one per worker)', int)
  .option('--services <list>', 'comma-separated worker services (default: hello-service,hpp-service)')
  .option('--redis <url>', 'Redis URL (default: HYDRA_REDIS_URL, else 127.0.0.1:6379 if it answers, else a private redis-server)')
  .option('--router-port <port>', 'the port of every router, on its manager address', int, 8000)
  .option('--hello-port <port>', 'first hello-service port on a worker (default 5000)', int)
  .option('--hpp-port <port>', 'first hpp-service port on a worker (default 6000)', int)
  .option('--manager-prefix <prefix>', 'manager addresses are <prefix>1, <prefix>2, …', '127.0.1.')
  .option('--worker-prefix <prefix>', 'worker addresses are <prefix>1, <prefix>2, …', '127.0.2.')
  .option('--balancer-port <port>', 'HAProxy listens on 127.0.0.1:<port>', int, 8080)
  .option('--no-balancer', 'no HAProxy in front of the routers')
  .option('--no-control', 'no control socket')
  .option('--otlp <url>', "send every process's spans to this OTLP/HTTP endpoint instead of the routers' dashboard (sets OTEL_EXPORTER_OTLP_ENDPOINT; see docs/tracing.md)", otlpUrl)
  .option('--no-traces', "no tracing: by default every process sends its spans to the routers, whose dashboard lists the last traces")
  .addHelpText('after', `\nCommands, at the prompt or through "hydra-cluster ctl <command>":\n${commandHelp()}\n\nExample:\n  hydra-cluster --managers 2 --workers 3\n  hydra-cluster ctl scale hello-service 6\n`)
  .action((flags: StartFlags) => startCommand(flags));

program
  .command('ctl')
  .description('send a command to a running cluster (found in the temp directory, or --socket)')
  .argument('<command...>', 'e.g. status, scale hello-service 8, rollout hello-service, kill worker-3, stop')
  .option('--socket <path>', 'the control socket (printed at start; default: the one running cluster)')
  .option('--json', 'print the whole answer as JSON (status includes every instance)')
  .option('--timeout <s>', 'seconds to wait for the answer', int, 300)
  .action((words: string[], flags: { socket?: string; json?: boolean; timeout: number }) => ctlCommand(words, flags));

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`hydra-cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

/**
 * The commands of a running cluster, one text line each, the same whether typed
 * at the terminal or sent through the control socket.
 */
import type { Cluster, ClusterStatus } from './cluster.js';
import { commandHelp, statusTable } from './report.js';

export interface CommandResult {
  ok: boolean;
  text: string;
  status?: ClusterStatus;
  /** The command asked the cluster to stop. */
  stop?: boolean;
}

export async function runCommand(cluster: Cluster, line: string): Promise<CommandResult> {
  const [name, ...args] = line.trim().split(/\s+/).filter(Boolean);
  try {
    switch (name) {
      case undefined:
        return { ok: true, text: '' };
      case 'status': {
        const status = cluster.status();
        return { ok: true, text: statusTable(status, cluster.balancerPid), status };
      }
      case 'scale': {
        const [service, count] = args;
        if (!service || count === undefined || !/^\d+$/.test(count) || args.length !== 2) return usage('scale <service> <n>, e.g. scale hello-service 8');
        return { ok: true, text: await cluster.scale(service, Number(count)) };
      }
      case 'rollout': {
        const [service, version] = args;
        if (!service || args.length > 2) return usage('rollout <service> [version], e.g. rollout hello-service 0.0.3');
        return { ok: true, text: await cluster.rollout(service, version) };
      }
      case 'kill': {
        const [host] = args;
        if (!host || args.length !== 1) return usage('kill <host>, e.g. kill worker-3');
        return { ok: true, text: await cluster.kill(host) };
      }
      case 'restart': {
        const [host] = args;
        if (!host || args.length !== 1) return usage('restart <host>, e.g. restart worker-3');
        return { ok: true, text: await cluster.restart(host) };
      }
      case 'stop':
        return { ok: true, text: 'stopping the cluster', stop: true };
      case 'help':
        return { ok: true, text: commandHelp() };
      default:
        return { ok: false, text: `unknown command "${name}"; commands:\n${commandHelp()}` };
    }
  } catch (err) {
    return { ok: false, text: err instanceof Error ? err.message : String(err) };
  }
}

function usage(text: string): CommandResult {
  return { ok: false, text: `usage: ${text}` };
}

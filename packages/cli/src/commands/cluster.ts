/**
 * `services`, `nodes`, `routes`, `health`, `healthlog`: what the cluster looks
 * like, read once from the registry keys. An instance is alive while its
 * presence key exists; `hydra:service:nodes` also keeps the dead, which the
 * tables mark and `nodes --prune` removes.
 */
import type { Command } from 'commander';
import { assertServiceName, DEFAULT_PRUNE_AFTER_S, pruneNodes, readHealth, readHealthLog, readNodes, readRoutes, readServices, type NodeStatus, type RedisClient } from '@hydra-ts/core';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { withRedis } from '../connection.js';
import { formatAge, formatBytes, renderTable, warnSkipped } from '../output.js';
import { example } from './help.js';

function optionalService(svc: string | undefined): string | undefined {
  if (svc !== undefined) assertServiceName(svc, 'service');
  return svc;
}

function status(n: { alive: boolean }): string {
  return n.alive ? 'up' : 'DEAD';
}

function byServiceThenLiveness(a: NodeStatus, b: NodeStatus): number {
  return a.serviceName.localeCompare(b.serviceName) || Number(b.alive) - Number(a.alive) || a.elapsed - b.elapsed;
}

function parseSeconds(value: string): number {
  if (!/^\d+$/.test(value)) throw new CliError(`--older-than "${value}" must be a whole number of seconds`);
  return Number(value);
}

async function healthByService(redis: RedisClient, svc: string | undefined): Promise<Array<{ serviceName: string; health: Record<string, unknown>[] }>> {
  const names = svc ? [svc] : (await readServices(redis)).map((s) => s.serviceName);
  const out = [];
  for (const name of names) out.push({ serviceName: name, health: await readHealth(redis, name) });
  return out;
}

export function registerClusterCommands(program: Command, ctx: Context): void {
  program
    .command('services')
    .argument('[service]', 'show only this service')
    .description('list registered services with their count of live instances')
    .addHelpText('after', example('hydra-cli services', 'hydra-cli services --json | jq -r ".[].serviceName"'))
    .action(async (svc: string | undefined, _opts: unknown, cmd: Command) => {
      const name = optionalService(svc);
      const out = ctx.output(cmd);
      const rows = await withRedis(ctx.target(cmd), async (redis) => {
        const [services, nodes] = await Promise.all([readServices(redis), readNodes(redis, name, warnSkipped(out))]);
        return services
          .filter((s) => name === undefined || s.serviceName === name)
          .map((s) => ({ ...s, instances: nodes.filter((n) => n.alive && n.serviceName === s.serviceName).length }));
      });
      out.result(rows, () => renderTable(['SERVICE', 'TYPE', 'INSTANCES', 'REGISTERED'], rows.map((s) => [s.serviceName, s.type || '-', String(s.instances), s.registeredOn]), '(no services registered)'));
    });

  program
    .command('nodes')
    .argument('[service]', 'show only this service')
    .description('list service instances, with how long ago each was last seen; dead ones are marked')
    .option('--prune', 'first remove entries of instances that are gone (no presence) and not seen for --older-than seconds')
    .option('--older-than <seconds>', 'with --prune: how long an entry must be silent', String(DEFAULT_PRUNE_AFTER_S))
    .addHelpText('after', example('hydra-cli nodes', 'hydra-cli nodes hello-service --json', 'hydra-cli nodes --prune --older-than 600'))
    .action(async (svc: string | undefined, opts: { prune?: boolean; olderThan: string }, cmd: Command) => {
      const name = optionalService(svc);
      const olderThan = parseSeconds(opts.olderThan);
      const out = ctx.output(cmd);
      const nodes = await withRedis(ctx.target(cmd), async (redis) => {
        if (opts.prune) {
          const removed = await pruneNodes(redis, olderThan, Date.now(), warnSkipped(out));
          out.note(`pruned ${removed.length} dead ${removed.length === 1 ? 'entry' : 'entries'} not seen for ${formatAge(olderThan)} or more`);
        }
        return (await readNodes(redis, name, opts.prune ? undefined : warnSkipped(out))).sort(byServiceThenLiveness);
      });
      out.result(nodes, () =>
        renderTable(
          ['SERVICE', 'INSTANCE', 'VERSION', 'ADDRESS', 'PID', 'HOST', 'LAST SEEN', 'STATUS'],
          nodes.map((n) => [n.serviceName, n.instanceID, n.version, `${n.ip}:${n.port}`, String(n.processID), n.hostName ?? '-', `${formatAge(n.elapsed)} ago`, status(n)]),
          name ? `(no nodes of ${name})` : '(no nodes)',
        ),
      );
    });

  program
    .command('routes')
    .argument('[service]', 'show only this service')
    .description('list the HTTP routes services have published')
    .addHelpText('after', example('hydra-cli routes', 'hydra-cli routes hello-service'))
    .action(async (svc: string | undefined, _opts: unknown, cmd: Command) => {
      const name = optionalService(svc);
      const out = ctx.output(cmd);
      const routes = await withRedis(ctx.target(cmd), (redis) => readRoutes(redis, name, warnSkipped(out)));
      out.result(routes, () =>
        renderTable(
          ['SERVICE', 'METHOD', 'PATH'],
          Object.entries(routes).flatMap(([service, list]) =>
            list.map((r) => {
              const m = /^\[([^\]]*)\](.*)$/.exec(r);
              return m ? [service, m[1]!.toUpperCase(), m[2]!] : [service, '-', r];
            }),
          ),
          '(no routes)',
        ),
      );
    });

  program
    .command('health')
    .argument('[service]', 'show only this service')
    .description('show the health reports of live instances (the table also lists dead instances)')
    .addHelpText('after', example('hydra-cli health', 'hydra-cli health hello-service --json'))
    .action(async (svc: string | undefined, _opts: unknown, cmd: Command) => {
      const name = optionalService(svc);
      const out = ctx.output(cmd);
      const { health, nodes } = await withRedis(ctx.target(cmd), async (redis) => ({ health: await healthByService(redis, name), nodes: await readNodes(redis, name, warnSkipped(out)) }));
      // hydra-cli's shape: one array of health documents per service that has any.
      const json = health.filter((s) => s.health.length > 0).map((s) => s.health);
      out.result(json, () => {
        const reports = new Map(health.flatMap((s) => s.health).map((h) => [String(h.instanceID), h]));
        const rows = nodes.sort(byServiceThenLiveness).map((n) => {
          const h = reports.get(n.instanceID);
          const memory = (h?.memory ?? {}) as Record<string, unknown>;
          const uptime = typeof h?.uptimeSeconds === 'number' ? formatAge(h.uptimeSeconds) : '-';
          const state = !n.alive ? 'DEAD' : h ? 'up' : 'up (no health report)';
          return [n.serviceName, n.instanceID, String(n.processID), n.hostName ?? '-', formatBytes(memory.rss), formatBytes(memory.heapUsed), uptime, state];
        });
        return renderTable(['SERVICE', 'INSTANCE', 'PID', 'HOST', 'RSS', 'HEAP USED', 'UPTIME', 'STATUS'], rows, name ? `(no instances of ${name})` : '(no instances)');
      });
    });

  program
    .command('healthlog')
    .argument('<service>', 'service name')
    .description("show the health log of every instance of a service, newest first")
    .addHelpText('after', example('hydra-cli healthlog hello-service'))
    .action(async (svc: string, _opts: unknown, cmd: Command) => {
      assertServiceName(svc, 'service');
      const out = ctx.output(cmd);
      const logs = await withRedis(ctx.target(cmd), (redis) => readHealthLog(redis, svc, warnSkipped(out)));
      out.result(logs, () => {
        const lines = logs.flatMap((l) => l.entries.map((e) => `${l.instanceId} ${String(e.type)} | ${String(e.ts)} PID:${String(e.processID)}: ${String(e.msg ?? e.message ?? '')}`));
        return lines.length ? lines.join('\n') : `(no health log for ${svc})`;
      });
    });
}

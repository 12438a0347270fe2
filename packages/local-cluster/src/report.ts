/** What the cluster prints: the table of what runs where, the URLs to try, the commands. */
import type { Cluster, ClusterStatus } from './cluster.js';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

/** One row per process: host, address, service, version, port, pid (and state). */
export function statusTable(s: ClusterStatus, balancerPid?: number): string {
  const rows = [['HOST', 'ADDRESS', 'SERVICE', 'VERSION', 'PORT', 'PID', 'STATE']];
  for (const h of s.hosts) {
    const here = s.instances.filter((i) => i.host === h.name);
    if (h.down) rows.push([h.name, h.ip, '(host killed)', '', '', '', 'down']);
    else if (here.length === 0) rows.push([h.name, h.ip, '(nothing)', '', '', '', '']);
    for (const i of here) rows.push([h.name, h.ip, i.service, i.version, String(i.port), String(i.pid), i.state]);
  }
  if (s.balancer) {
    const url = new URL(s.balancer);
    rows.push(['balancer', url.hostname, 'haproxy', '', url.port, String(balancerPid ?? ''), 'up']);
  }
  return table(rows);
}

const COMMANDS = [
  'scale <service> <n>          e.g. scale hello-service 8',
  'rollout <service> [version]  new instances first, then the old ones drained one by one',
  'kill <host>                  SIGKILL every process of a host, e.g. kill worker-3',
  'restart <host>               a killed host comes back (a manager with its router)',
  'status                       what runs where',
  'stop                         stop everything (as Ctrl-C does)',
];

export function commandHelp(): string {
  return COMMANDS.map((c) => `  ${c}`).join('\n');
}

export function startReport(cluster: Cluster): string {
  const s = cluster.status();
  const front = s.balancer ?? s.routers[0]!;
  const paths = [...cluster.specs.values()].filter((spec) => spec.name !== 'hydra-router').map((spec) => spec.tryPath);
  const lines = [
    `hydra-cluster: ${cluster.opts.managers} managers, ${cluster.opts.workers} workers, up in ${(cluster.startedInMs / 1000).toFixed(1)} s`,
    `Redis: ${s.redisUrl} (${cluster.redisOrigin}); configs pushed with hydra-cli cfg push: ${Object.entries(s.versions).map(([k, v]) => `${k}:${v}`).join(', ')}`,
    '',
    statusTable(s, cluster.balancerPid),
    '',
    'Try:',
    ...paths.map((p) => `  curl ${front}${p}`),
    ...(s.balancer ? [`  ${s.balancer}/   the dashboard, through the balancer (HAProxy -> routers)${cluster.opts.dashboardTraces ? '; under Recent traces each request is one trace across the processes it reached' : ''}`] : []),
    ...s.routers.map((r) => `  ${r}/   a router directly (curl ${r}${paths[0] ?? '/v1/router/health'})`),
    `  HYDRA_REDIS_URL=${s.redisUrl} npx hydra-cli nodes`,
    ...cluster.notes.map((n) => `Note: ${n}`),
    '',
    `Commands (type them here, or from another terminal: npx hydra-cluster ctl <command>):`,
    commandHelp(),
    `Logs: ${s.dir}/logs/   Ctrl-C stops everything.`,
    '',
  ];
  return lines.join('\n');
}

/**
 * `rest <[id@]svc:[method]/path> [payload.json]`: a real HTTP call to a live
 * instance (Hydra's makeAPIRequest), printing the response envelope.
 */
import type { Command } from 'commander';
import { parseRoute, readJsonFile } from '@hydra-ts/core';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { withHydra } from '../connection.js';
import { example } from './help.js';

const WITH_BODY = new Set(['post', 'put', 'patch']);

/** The route with its method made explicit: `svc:/x` means `svc:[get]/x`, where hydra-cli answered 400. */
export function normaliseRoute(route: string): { to: string; method: string } {
  const parsed = parseRoute(route);
  if (!parsed.apiRoute.startsWith('/')) throw new CliError(`route "${route}" has no path: use <[instanceID@]service>:[method]/path, e.g. hello-service:[get]/v1/hello`);
  if (parsed.httpMethod) return { to: route, method: parsed.httpMethod };
  const colon = route.indexOf(':');
  return { to: `${route.slice(0, colon)}:[get]${route.slice(colon + 1)}`, method: 'get' };
}

function parseTimeout(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new CliError(`--timeout "${value}" must be a positive number of seconds`);
  return n * 1000;
}

export function registerRestCommand(program: Command, ctx: Context): void {
  program
    .command('rest')
    .argument('<route>', '[instanceID@]service:[method]/path; the method defaults to get')
    .argument('[payload]', 'JSON file sent as the body of a post, put or patch')
    .description('call an HTTP endpoint of a live service instance and print the response envelope')
    .option('--timeout <seconds>', 'give up after this long', '30')
    .addHelpText(
      'after',
      example('hydra-cli rest hello-service:[get]/v1/hello', 'hydra-cli rest hello-service:[post]/v1/echo payload.json', 'hydra-cli rest 3f2a...@hello-service:/v1/hello'),
    )
    .action(async (route: string, payload: string | undefined, opts: { timeout: string }, cmd: Command) => {
      const { to, method } = normaliseRoute(route);
      const timeoutMs = parseTimeout(opts.timeout);
      let body: Record<string, unknown> = {};
      if (payload !== undefined) {
        if (!WITH_BODY.has(method)) throw new CliError(`a payload is not allowed for HTTP ${method.toUpperCase()}; only post, put and patch carry one`);
        const data = readJsonFile(payload);
        if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new CliError(`${payload}: the payload must be a JSON object`);
        body = data as Record<string, unknown>;
      }
      const envelope = await withHydra(ctx.target(cmd), (hydra) => hydra.makeAPIRequest({ to, from: 'hydra-cli:/', body }, { timeoutMs }));
      // The envelope is the answer in every format (hydra-cli printed it as JSON too).
      ctx.io.stdout.write(`${JSON.stringify(envelope, null, 2)}\n`);
      if (envelope.statusCode >= 400) {
        const reason = (envelope.result as { reason?: unknown } | undefined)?.reason;
        throw new CliError(`${method.toUpperCase()} ${to} answered ${envelope.statusCode} ${envelope.statusMessage}${typeof reason === 'string' ? `: ${reason}` : ''}`);
      }
    });
}

/**
 * The benchmark's backend: a minimal registered hydra-ts service on node:http
 * answering every request with the same small JSON (and which instance served
 * it). Config from HYDRA_REDIS_URL and HYDRA_SERVICE. Prints one JSON line when
 * registered: `{ready, port, instanceId, registeredAt, routesAt}` (epoch ms after
 * registerService and after registerRoutes). BENCH_ROUTE names its route path.
 */
import { createServer } from 'node:http';
import { Hydra, closeOnSignals, defaultLogger } from '@hydra-ts/core';

async function main(): Promise<void> {
  const hydra = await Hydra.create(undefined, { logger: defaultLogger('bench-backend') });
  const body = Buffer.from(JSON.stringify({ hello: 'world', instance: hydra.instanceId }));
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  await hydra.listen(server);
  await hydra.registerService();
  const registeredAt = Date.now();
  await hydra.registerRoutes([`[get]${process.env.BENCH_ROUTE ?? '/v1/bench/hello'}`]);
  const routesAt = Date.now();
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ ready: true, port: typeof addr === 'object' && addr ? addr.port : 0, instanceId: hydra.instanceId, registeredAt, routesAt })}\n`);
  const stop = async () => {
    server.closeAllConnections();
    await hydra.close();
  };
  closeOnSignals({ close: stop }, hydra.logger);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench backend: ${(err as Error).message}\n`);
  process.exit(1);
});

/**
 * The benchmark's baseline: the least a Node reverse proxy can do. A plain
 * node:http server and one undici Pool to one backend (MINIMAL_BACKEND, an
 * origin), pooled like the router's (128 keep-alive connections, no
 * pipelining), answering through undici's handler interface without
 * intermediate streams. No routing, metrics, logging, request id or
 * X-Forwarded-*; only hop-by-hop headers are dropped, as any proxy must.
 * What Node's HTTP server and client cost per request on this machine is the
 * floor under the router's figures. Prints `{ready, port}` when listening.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'expect']);

function strip(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function uncork(res: ServerResponse): void {
  res.uncork();
}

class Forward implements Dispatcher.DispatchHandler {
  constructor(private readonly res: ServerResponse) {}

  /** Its presence tells undici this handler speaks the current (controller) interface. */
  onRequestStart(): void {}

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.res.writeHead(status, strip(headers));
    this.res.cork();
    process.nextTick(uncork, this.res);
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      c.pause();
      this.res.once('drain', () => c.resume());
    }
  }

  onResponseEnd(): void {
    this.res.end();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.res.headersSent) this.res.destroy();
    else {
      this.res.writeHead(502, { 'content-type': 'text/plain' });
      this.res.end(err.message);
    }
  }
}

const origin = process.env.MINIMAL_BACKEND;
if (!origin) {
  process.stderr.write('minimal-proxy: set MINIMAL_BACKEND to the backend origin (http://127.0.0.1:<port>)\n');
  process.exit(1);
}
const pool = new Pool(origin, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });

const server = createServer({ keepAliveTimeout: 65_000 }, (req: IncomingMessage, res: ServerResponse) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.dispatch({ path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers: strip(req.headers), body: hasBody ? req : undefined }, new Forward(res));
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ ready: true, port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
});
const stop = () => {
  server.closeAllConnections();
  server.close();
  void pool.destroy().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

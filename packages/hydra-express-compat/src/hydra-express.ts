/**
 * hydra-express's API (the `hydra-express` npm package, 1.9.5) on Express 5 and
 * @hydra-ts/hydra: init() loads the config, starts Hydra, builds the app with
 * hydra-express's defaults (CORS, security headers, JSON and form bodies, the
 * `public/` folder with its index.html fallback, errors as `{code}`), listens on
 * the port Hydra chose, registers the instance and the app's routes, and shuts
 * down gracefully on SIGTERM and SIGINT. The deliberate differences are listed in
 * the package README.
 */
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import cors, { type CorsOptions } from 'cors';
import helmet from 'helmet';
import { assertJsonDepth, errorMessage } from '@hydra-ts/core';
import sharedHydra = require('@hydra-ts/hydra');
import type { Hydra, HydraPluginLike, ServiceInfo } from '@hydra-ts/hydra/hydra';

/** hydra-express's HSTS max-age: 90 days. */
const HSTS_MAX_AGE_S = 90 * 24 * 60 * 60;
/** How long shutdown() lets requests in flight finish before cutting their connections. */
export const DRAIN_TIMEOUT_MS = 10_000;

/** The logger hydra-express writes through (`appLogger`); a plugin may replace it. */
export interface AppLogger {
  /** Logs an entry of level fatal. */
  fatal(entry: Record<string, unknown>): void;
  /** Logs an entry of level error. */
  error(entry: Record<string, unknown>): void;
  /** Logs an entry of level debug. */
  debug(entry: Record<string, unknown>): void;
  /** Logs an entry of level info. */
  info(entry: Record<string, unknown>): void;
}

/** hydra-express's default logger: the level, then the entry, on the console. */
function consoleLogger(): AppLogger {
  const dump = (level: string) => (entry: Record<string, unknown>) => {
    console.log(level);
    console.dir(entry, { depth: null });
  };
  return { fatal: dump('FATAL'), error: dump('ERROR'), debug: dump('DEBUG'), info: dump('INFO') };
}

/** A hydra-express plugin (`require('hydra-express/plugin')`) or a plain Hydra plugin. */
export interface HydraExpressPluginLike extends HydraPluginLike {
  /** Called by use() with this HydraExpress. */
  setHydraExpress?(hydraExpress: HydraExpress): unknown;
}

/** Options of the HydraExpress class (the default export is one instance made with none). */
export interface HydraExpressOptions {
  /** The Hydra to run on; default the shared instance `require('hydra')` gives. */
  hydra?: Hydra;
  /** Whether init() installs SIGTERM/SIGINT and crash handlers that shut down and exit (default true, as hydra-express). */
  handleProcessEvents?: boolean;
}

/** init()'s callbacks: registerRoutesCallback and registerMiddlewareCallback. */
export type RoutesCallback = () => void;

/** A hydra-express service config: the hydra branch and the keys hydra-express reads beside it (any others travel along). */
export interface ExpressConfig {
  /** Hydra's config (serviceName, serviceDescription, servicePort, redis, plugins, ...). */
  hydra?: Record<string, any>;
  /** Options for the cors middleware; default: any origin. */
  cors?: CorsOptions;
  /** Options for the JSON and URL-encoded body parsers (`limit`, `extended`, ...). */
  bodyParser?: {
    /** express.json() options. */
    json?: Record<string, any>;
    /** express.urlencoded() options. */
    urlencoded?: Record<string, any>;
  };
  /** The static folder, relative to the working directory; default `public`. */
  publicFolder?: string;
  /** Logged at start; default `development`. */
  environment?: string;
  /** Runs Hydra in test mode (no Redis). */
  testMode?: boolean;
  /** The version init() was given. */
  version?: string;
  [key: string]: unknown;
}

function missingFields(config: ExpressConfig): string[] {
  const missing: string[] = [];
  for (const field of ['serviceName', 'serviceDescription']) if (config.hydra?.[field] === undefined) missing.push(`hydra.${field}`);
  return missing;
}

/**
 * hydra-express's API. The package's default export is the one instance an app
 * uses (`require('hydra-express')`).
 */
export class HydraExpress {
  /** The loaded config (after init()). */
  config: ExpressConfig | null = null;
  /** The HTTP server (after init()). */
  server: Server | null = null;
  /** Whether init() runs Hydra in test mode (`config.testMode === true`): no Redis needed. */
  testMode = false;
  /** Where log() writes; replaceable (hydra-express's logger plugins set it). */
  appLogger: AppLogger = consoleLogger();
  /** Plugins passed to use(), in order. */
  readonly registeredPlugins: HydraExpressPluginLike[] = [];
  private readonly hydra: Hydra;
  private readonly app: Express = express();
  private readonly handleProcessEvents: boolean;
  private routesPublished: Promise<unknown>[] = [];
  /** Every route registerRoutes() was given: each call publishes them all (Hydra's replaced the earlier calls' routes). */
  private readonly routeList: string[] = [];
  private removeProcessHandlers?: () => void;
  private stopping?: Promise<void>;

  constructor(options: HydraExpressOptions = {}) {
    this.hydra = options.hydra ?? sharedHydra;
    this.handleProcessEvents = options.handleProcessEvents ?? true;
    // Hydra's own log events reach the app's logger, as in hydra-express.
    this.hydra.on('log', (entry: { type: string; msg?: unknown }) => {
      // Routers are optional: their absence is no news.
      if (typeof entry.msg === 'string' && entry.msg.includes('Unavailable hydra-router instances')) return;
      this.log(entry.type, entry.msg);
    });
  }

  /** Registers plugins (each one's setHydraExpress, or setHydra for a plain Hydra plugin), in order. */
  async use(...plugins: HydraExpressPluginLike[]): Promise<unknown[]> {
    const results: unknown[] = [];
    for (const plugin of plugins) {
      this.registeredPlugins.push(plugin);
      const done = plugin.setHydraExpress ? await plugin.setHydraExpress(this) : await plugin.setHydra?.(this.hydra);
      results.push(done || plugin.name || null);
    }
    return results;
  }

  /**
   * Starts the service: `config` is an object or a JSON file path; `version` may be
   * left out (the callbacks move up). registerRoutesCallback runs once the server
   * listens and should call registerRoutes(); registerMiddlewareCallback runs before
   * the routes are mounted. Resolves with `{serviceName, serviceIP, servicePort}`.
   */
  async init(config: string | Record<string, any>, version?: string | RoutesCallback, registerRoutesCallback?: RoutesCallback, registerMiddlewareCallback?: RoutesCallback): Promise<ServiceInfo> {
    if (typeof config === 'string') {
      const helper = this.hydra.getConfigHelper();
      try {
        await helper.init(config);
      } catch (err) {
        throw new Error(`Unable to load config from ${config}: ${errorMessage(err)}`);
      }
      return this.init(helper.getObject(), version, registerRoutesCallback, registerMiddlewareCallback);
    }
    if (typeof version === 'function') {
      registerMiddlewareCallback = registerRoutesCallback;
      registerRoutesCallback = version;
      version = undefined;
    }
    const cfg: ExpressConfig = { ...config };
    if (version) cfg.version = version;
    if (cfg.testMode === true) this.testMode = true;
    if (!cfg.hydra) throw new Error('Config missing hydra block');
    if (!cfg.hydra.redis && !this.testMode && !process.env.HYDRA_REDIS_URL && !process.env.HYDRA_REDIS_URL_FILE) throw new Error('Config missing redis block');
    const missing = missingFields(cfg);
    if (missing.length) throw new Error(`Config missing fields: ${missing.join(' ')}`);
    if (!registerRoutesCallback) throw new Error('Config missing registerRoutesCallback parameter');
    if (cfg.version) cfg.hydra = { ...cfg.hydra, serviceVersion: cfg.version };
    cfg.environment ??= 'development';

    return this.start(cfg, registerRoutesCallback, registerMiddlewareCallback);
  }

  private async start(cfg: ExpressConfig, registerRoutesCallback: RoutesCallback, registerMiddlewareCallback?: RoutesCallback): Promise<ServiceInfo> {
    this.routesPublished = [];
    const loaded = (await this.hydra.init(cfg, this.testMode)) as ExpressConfig;
    this.config = loaded;
    try {
      for (const plugin of this.registeredPlugins) await plugin.setConfig?.(loaded);
      this.buildApp(loaded, registerMiddlewareCallback);
      this.server = createServer(this.app);
      await this.listen(this.server, this.hydra.config!.servicePort);
      const info = await this.hydra.registerService();
      this.log('start', `${this.hydra.getServiceName()} (v.${this.hydra.getInstanceVersion()}) server listening on port ${info.servicePort}`);
      this.log('info', `Using environment: ${loaded.environment}`);
      registerRoutesCallback();
      this.finishApp(loaded);
      await Promise.all(this.routesPublished);
      if (this.handleProcessEvents) this.installProcessHandlers();
      for (const plugin of this.registeredPlugins) await plugin.onServiceReady?.();
      return info;
    } catch (err) {
      await this.shutdown();
      throw err;
    }
  }

  private listen(server: Server, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => reject(new Error(`cannot listen on hydra.servicePort ${port}: ${err.message}`, { cause: err }));
      server.once('error', fail);
      server.listen(port, () => {
        server.off('error', fail);
        resolve();
      });
    });
  }

  /** hydra-express's middleware, in its order, before the app's own middleware and routes. */
  private buildApp(cfg: ExpressConfig, registerMiddlewareCallback?: RoutesCallback): void {
    const app = this.app;
    const poweredBy = `${this.hydra.getServiceName()}/${this.hydra.getInstanceVersion()}`;
    app.use((_req, res, next) => {
      res.set('x-process-id', String(process.pid));
      next();
    });
    app.use(helmet({ strictTransportSecurity: { maxAge: HSTS_MAX_AGE_S } }));
    // helmet 4's hidePoweredBy({setTo}) named the service; helmet 8 only removes the header.
    app.use((_req, res, next) => {
      res.set('x-powered-by', poweredBy);
      next();
    });
    app.use(cors({ ...(cfg.cors ?? {}) }));
    const parsers = { json: {}, urlencoded: { extended: false }, ...(cfg.bodyParser ?? {}) };
    app.use(express.json({ ...parsers.json, verify: (_req, _res, body) => assertJsonDepth(body, 'request body') }));
    app.use(express.urlencoded({ extended: false, ...parsers.urlencoded }));
    // Express 4 gave every request a req.body ({} without a body); Express 5 leaves it undefined.
    app.use((req, _res, next) => {
      req.body ??= {};
      next();
    });
    registerMiddlewareCallback?.();
    const appPath = join('./', cfg.publicFolder ?? 'public');
    cfg.appPath = appPath;
    app.use('/', express.static(appPath));
  }

  /** After the app's routes: the public folder's index.html for other GETs, then 404, then errors as `{code}`. */
  private finishApp(cfg: ExpressConfig): void {
    const index = resolve(String(cfg.appPath), 'index.html');
    this.app.use((req: Request, res: Response, next: NextFunction) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return next();
      res.sendFile(index, (err) => (err ? next() : undefined));
    });
    this.app.use((_req: Request, _res: Response, next: NextFunction) => next(Object.assign(new Error('Not Found'), { status: 404 })));
    this.app.use((err: Error & { status?: number; statusCode?: number }, _req: Request, res: Response, _next: NextFunction) => {
      const status = err.status ?? err.statusCode;
      const code = typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
      if (code !== 404) this.appLogger.fatal({ event: 'error', error: err.name, stack: err.stack });
      res.status(code).json({ code });
    });
  }

  private installProcessHandlers(): void {
    const stop = (exitCode: number) => {
      void this.shutdown().finally(() => process.exit(exitCode));
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.stopping) process.exit(1); // a second signal: do not wait
      this.log('fatal', `Received ${signal}`);
      stop(0);
    };
    const onCrash = (err: unknown) => {
      this.log('fatal', JSON.stringify({ event: 'error', error: (err as Error)?.name, stack: (err as Error)?.stack ?? String(err) }));
      stop(1);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    this.removeProcessHandlers = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
    };
  }

  /**
   * Stops: the port stops taking connections, requests in flight get up to 10 s, then
   * Hydra shuts down (presence removed, connections closed). Idempotent.
   */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      this.removeProcessHandlers?.();
      const server = this.server;
      if (server?.listening) {
        await new Promise<void>((done) => {
          const timer = setTimeout(() => {
            server.closeAllConnections();
            done();
          }, DRAIN_TIMEOUT_MS);
          server.close(() => {
            clearTimeout(timer);
            done();
          });
          server.closeIdleConnections();
        });
      }
      await this.hydra.shutdown();
    })();
    return this.stopping;
  }

  /** The express module (`express.Router()` and the like). */
  getExpress(): typeof express {
    return express;
  }

  /** The Express app (available before init(), for middleware and plugins). */
  getExpressApp(): Express {
    return this.app;
  }

  /** The Hydra this service runs on. */
  getHydra(): Hydra {
    return this.hydra;
  }

  /** A copy of the loaded config. */
  getRuntimeConfig(): Record<string, any> {
    return { ...(this.config ?? {}) };
  }

  /**
   * Logs through appLogger (`type`: fatal, error, debug, info, or any other as info);
   * fatal and error entries also go to the instance's health log.
   */
  log(type: string, message: unknown): void {
    const msg = typeof message === 'object' && message !== null ? JSON.stringify(message) : message;
    const entry = { event: type, message: msg };
    if (type === 'fatal' || type === 'error') {
      this.appLogger[type](entry);
      this.hydra.sendToHealthLog(type, msg, true);
    } else if (type === 'debug') this.appLogger.debug(entry);
    else this.appLogger.info(entry);
  }

  /**
   * Mounts Express routers and publishes their routes (`[get]/v1/x/:id`): either
   * `{'/v1/base': router, ...}` (what hydra-express 1.9.5 takes) or `(base, router)`
   * (what its README shows).
   */
  registerRoutes(routes: Record<string, Router> | string, router?: Router): void {
    const table: Record<string, Router> = typeof routes === 'string' ? { [routes]: router! } : routes;
    const list = this.routeList;
    for (const [base, r] of Object.entries(table)) {
      if (typeof r !== 'function' || !Array.isArray((r as unknown as { stack?: unknown }).stack)) throw new TypeError(`registerRoutes: the value for "${base}" is not an Express router`);
      for (const layer of (r as unknown as { stack: Array<{ route?: { path: string | string[]; methods: Record<string, boolean> } }> }).stack) {
        if (!layer.route) continue; // router-level middleware
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const method of Object.keys(layer.route.methods)) {
          if (method !== '_all') for (const p of paths) list.push(`[${method}]${base}${p}`);
        }
      }
      this.app.use(base, r);
    }
    this.routesPublished.push(this.hydra.registerRoutes([...new Set(list)]).catch((err: unknown) => this.log('error', `could not publish routes: ${errorMessage(err)}`)));
  }

  /** Sends Hydra's envelope `{statusCode, statusMessage, statusDescription, result}` with `data`'s fields. */
  sendResponse(httpCode: number, res: Response, data?: Record<string, unknown>): void {
    new (this.hydra.getServerResponseHelper())().sendResponse(httpCode, res, data);
  }
}

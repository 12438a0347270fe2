/**
 * Turning the OpenTelemetry Node SDK on in a program (bins, never library code):
 * only when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is
 * set, and only then is the SDK loaded, so a program without it pays nothing. The
 * SDK reads the rest of OpenTelemetry's environment itself (protocol, headers,
 * sampler, OTEL_SERVICE_NAME, resource attributes).
 *
 * The SDK package is the program's dependency, not core's: the program passes
 * how to load it (`() => require('@opentelemetry/sdk-node')`), resolved from its
 * own package.
 */

/** What this module uses of `@opentelemetry/sdk-node`. */
export interface NodeSdkModule {
  /** The SDK's class. */
  NodeSDK: NodeSdkClass;
}

/** The SDK's constructor. */
export interface NodeSdkClass {
  /** An SDK configured from OpenTelemetry's environment and `config`. */
  new (config: NodeSdkOptions): NodeSdk;
}

/** The options this module gives the SDK. */
export interface NodeSdkOptions {
  /** service.name of the resource (absent: the SDK reads OTEL_SERVICE_NAME). */
  serviceName?: string;
  /** Automatic instrumentations: none, hydra-ts makes its own spans. */
  instrumentations?: unknown[];
}

/** A Node SDK not yet started. */
export interface NodeSdk extends Telemetry {
  /** Registers the SDK's tracer provider, context manager and propagators. */
  start(): void;
}

/** A started SDK. */
export interface Telemetry {
  /** Exports the spans still buffered, then stops the SDK. */
  shutdown(): Promise<void>;
}

/** Something a bin closes on a signal (closeOnSignals). */
export interface Closable {
  /** Stops it gracefully. */
  close(): Promise<void>;
}

/** Whether `env` asks for OTLP export of traces. */
export function otlpRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts the Node SDK with an OTLP trace exporter when OpenTelemetry's environment
 * asks for one (see otlpRequested); returns undefined, having loaded nothing, when
 * it does not. `serviceName` is the service.name unless OTEL_SERVICE_NAME is set.
 * Metrics and logs are served by hydra-ts itself (`/metrics`, pino), so the SDK's
 * own metric and log exporters stay off unless OTEL_METRICS_EXPORTER /
 * OTEL_LOGS_EXPORTER name one.
 */
export function startTelemetry(serviceName: string, loadSdk: () => NodeSdkModule): Telemetry | undefined {
  const env = process.env;
  if (!otlpRequested(env)) return undefined;
  // The SDK reads process.env itself; these defaults only fill what it leaves unset.
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  const { NodeSDK } = loadSdk();
  const sdk = new NodeSDK({ serviceName: env.OTEL_SERVICE_NAME ? undefined : serviceName, instrumentations: [] });
  sdk.start();
  return sdk;
}

/** `target` closed, then the SDK's buffered spans exported (a bin passes this to closeOnSignals). */
export function closingTelemetry(target: Closable, telemetry: Telemetry | undefined): Closable {
  if (!telemetry) return target;
  return {
    async close() {
      try {
        await target.close();
      } finally {
        await telemetry.shutdown();
      }
    },
  };
}

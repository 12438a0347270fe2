/**
 * The OpenTelemetry SDK in a test's own process, keeping finished spans in memory
 * (the SDK's InMemorySpanExporter): registers the provider with Node's context
 * manager and the W3C propagators, as an application's SDK would.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export type { ReadableSpan };

export interface InMemoryTracing {
  /** Spans finished so far, in the order they ended. */
  spans(): ReadableSpan[];
  /** Spans of one trace. */
  trace(traceId: string): ReadableSpan[];
  /** Forgets the spans so far. */
  reset(): void;
  /** Unregisters the SDK: the process is untraced again. */
  shutdown(): Promise<void>;
}

export function startInMemoryTracing(): InMemoryTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  return {
    spans: () => exporter.getFinishedSpans(),
    trace: (traceId) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId),
    reset: () => exporter.reset(),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** The attribute `key` of a span, as a string ('' when absent). */
export const attr = (span: ReadableSpan, key: string): string => String(span.attributes[key] ?? '');

/** The span's parent span id ('' for a root). */
export const parentOf = (span: ReadableSpan): string => span.parentSpanContext?.spanId ?? '';

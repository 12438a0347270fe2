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

/**
 * A trace as indented text, one span a line: its name, who made it (service and the
 * first 6 characters of the instance id) and how long it took, children under parents
 * in start order. Spans whose parent is not in `spans` start at the left.
 */
export function renderTrace(spans: ReadableSpan[]): string {
  const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  const children = new Map<string, ReadableSpan[]>();
  for (const s of [...spans].sort((a, b) => ms(a.startTime) - ms(b.startTime))) {
    const parent = ids.has(parentOf(s)) ? parentOf(s) : '';
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const lines: string[] = [];
  const walk = (parent: string, depth: number) => {
    for (const s of children.get(parent) ?? []) {
      const who = `${attr(s, 'hydra.service')}${attr(s, 'hydra.instance.id') ? ` ${attr(s, 'hydra.instance.id').slice(0, 6)}` : ''}`;
      lines.push(`${'  '.repeat(depth)}${s.name}  [${who}]  ${(ms(s.endTime) - ms(s.startTime)).toFixed(1)} ms`);
      walk(s.spanContext().spanId, depth + 1);
    }
  };
  walk('', 0);
  return lines.join('\n');
}

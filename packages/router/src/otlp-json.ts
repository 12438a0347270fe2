/**
 * Reading an OTLP/JSON trace export (`ExportTraceServiceRequest`, what an OpenTelemetry
 * exporter POSTs to `/v1/traces` with OTEL_EXPORTER_OTLP_PROTOCOL=http/json) into the
 * few fields the dashboard shows of each span. Anything may post here, so every field
 * is checked and a bad one is named by its path.
 */
import { HydraError } from '@hydra-ts/core';
import { MAX_SPAN_TEXT, type SpanRecord } from './trace-store.js';

/** The service a span belongs to: hydra-ts spans name their instance (a process may host several). */
const SERVICE_ATTR = 'hydra.service';
const INSTANCE_ATTR = 'hydra.instance.id';
/** Status code of a failed span (OTLP `Status.code`: 2 = STATUS_CODE_ERROR). */
const STATUS_ERROR = 2;

const HEX_TRACE = /^[0-9a-f]{32}$/;
const HEX_SPAN = /^[0-9a-f]{16}$/;

function invalid(path: string, what: string): never {
  throw new HydraError('INVALID_JSON', `OTLP/JSON body: ${path} ${what}`);
}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid(path, 'is not an array');
  return value;
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) invalid(path, 'is not an object');
  return value as Record<string, unknown>;
}

/** A 64-bit nanosecond time: a decimal string (protobuf JSON's int64) or a number. */
function nanosToMs(value: unknown, path: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value / 1e6;
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return Number(BigInt(value) / 1000n) / 1000;
  return invalid(path, 'is not a time in nanoseconds');
}

function id(value: unknown, pattern: RegExp, path: string): string {
  const text = typeof value === 'string' ? value.toLowerCase() : '';
  if (!pattern.test(text)) invalid(path, `is not ${pattern === HEX_TRACE ? 32 : 16} hex characters`);
  return text;
}

/** The string values of an OTLP attribute list (`[{key, value: {stringValue}}]`); other kinds are not needed here. */
function stringAttributes(value: unknown, path: string): Map<string, string> {
  const out = new Map<string, string>();
  list(value, path).forEach((entry, n) => {
    const { key, value: v } = object(entry, `${path}[${n}]`);
    const text = v && typeof v === 'object' ? (v as { stringValue?: unknown }).stringValue : undefined;
    if (typeof key === 'string' && typeof text === 'string') out.set(key, text);
  });
  return out;
}

const clip = (text: string) => (text.length > MAX_SPAN_TEXT ? `${text.slice(0, MAX_SPAN_TEXT - 1)}…` : text);

/** The spans of an export, or an INVALID_JSON error naming the first field that is wrong. */
export function spansOfExport(body: unknown): SpanRecord[] {
  const spans: SpanRecord[] = [];
  list(object(body, 'the body').resourceSpans, 'resourceSpans').forEach((rs, r) => {
    const at = `resourceSpans[${r}]`;
    const resource = object(rs, at).resource;
    const resourceService = resource === undefined ? undefined : stringAttributes(object(resource, `${at}.resource`).attributes, `${at}.resource.attributes`).get('service.name');
    list(object(rs, at).scopeSpans, `${at}.scopeSpans`).forEach((ss, s) => {
      list(object(ss, `${at}.scopeSpans[${s}]`).spans, `${at}.scopeSpans[${s}].spans`).forEach((raw, n) => {
        const path = `${at}.scopeSpans[${s}].spans[${n}]`;
        const span = object(raw, path);
        const attrs = stringAttributes(span.attributes, `${path}.attributes`);
        const start = nanosToMs(span.startTimeUnixNano, `${path}.startTimeUnixNano`);
        const end = nanosToMs(span.endTimeUnixNano, `${path}.endTimeUnixNano`);
        const parent = span.parentSpanId === undefined || span.parentSpanId === '' ? undefined : id(span.parentSpanId, HEX_SPAN, `${path}.parentSpanId`);
        if (typeof span.name !== 'string') invalid(`${path}.name`, 'is not a string');
        const status = span.status === undefined ? {} : object(span.status, `${path}.status`);
        spans.push({
          traceId: id(span.traceId, HEX_TRACE, `${path}.traceId`),
          spanId: id(span.spanId, HEX_SPAN, `${path}.spanId`),
          parentId: parent,
          name: clip(span.name),
          service: clip(attrs.get(SERVICE_ATTR) ?? resourceService ?? 'unknown'),
          instance: attrs.has(INSTANCE_ATTR) ? clip(attrs.get(INSTANCE_ATTR)!) : undefined,
          startMs: start,
          durationMs: Math.max(0, end - start),
          error: status.code === STATUS_ERROR || status.code === 'STATUS_CODE_ERROR',
        });
      });
    });
  });
  return spans;
}

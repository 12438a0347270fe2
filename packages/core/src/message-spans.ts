/**
 * Spans of UMF messages (OpenTelemetry messaging semantic conventions: a
 * producer span to send, a consumer span to receive from a queue or to process
 * what arrived) and the trace context a message carries in its `headers`.
 */
import { arrivedContext, tracingOn, type Span, type SpanAttributes, type Tracer } from './tracing.js';
import { TRACEPARENT } from './trace-context.js';
import { parseRoute, type UMFMessage } from './umf.js';

/** `messaging.system` of hydra-ts spans: messages travel over Redis pub/sub and lists as Hydra defines them. */
export const MESSAGING_SYSTEM = 'hydra';

export type MessagingOperation = 'send' | 'receive' | 'process';

function attributes(type: MessagingOperation, name: string, destination: string, m: UMFMessage): SpanAttributes {
  return {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.operation.type': type,
    'messaging.operation.name': name,
    'messaging.destination.name': destination,
    'messaging.message.id': m.mid,
    'messaging.message.conversation_id': m.rmid,
    'hydra.message.type': m.type,
  };
}

/**
 * A producer span for `message` going to the service its `to` names, its context
 * written into the message's headers (a new object: the caller's stays as it was).
 * Its parent is the current span or, with none current, the context the headers
 * already carry (a reply's are the original's).
 * Tracing off: no span, and the message carries on the context that arrived with
 * what is being handled, unless its headers already name one.
 */
export function sendSpan(tracer: Tracer, message: UMFMessage, operationName = 'send'): Span | undefined {
  if (!tracingOn()) {
    const arrived = arrivedContext();
    if (arrived && message.headers?.[TRACEPARENT] === undefined) message.headers = { ...message.headers, ...arrived };
    return undefined;
  }
  const destination = parseRoute(message.to).serviceName;
  const span = tracer.startContinuing(message.headers, `${operationName} ${destination}`, 'producer', attributes('send', operationName, destination, message))!;
  const headers = { ...message.headers };
  span.inject(headers);
  message.headers = headers;
  return span;
}

/** A consumer span continuing the context `message` carries (a new root without one); undefined when tracing is off. */
export function arrivalSpan(tracer: Tracer, message: UMFMessage, type: 'receive' | 'process', destination: string): Span | undefined {
  // Checked first: the name and attributes are not even built when tracing is off.
  if (!tracingOn()) return undefined;
  return tracer.startFrom(message.headers, `${type} ${destination}`, 'consumer', attributes(type, type, destination, message));
}

/** Ends a message span, failed when `err` is given. */
export function endSpan(span: Span | undefined, err?: unknown): void {
  if (!span) return;
  if (err !== undefined) span.fail(err instanceof Error ? err.message : String(err), (err as { code?: string }).code ?? 'error');
  span.end();
}

/** Ends `span` once `sent` settles (failed when it rejects); resolves and rejects as `sent` does. */
export function endWhenSent<T>(sent: Promise<T>, span: Span | undefined): Promise<T> {
  if (!span) return sent;
  return sent.then(
    (value) => {
      span.end();
      return value;
    },
    (err: unknown) => {
      endSpan(span, err);
      throw err;
    },
  );
}

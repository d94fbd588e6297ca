import { type Attributes, type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type Tracer, context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { MsgHdrs } from '@nats-io/transport-node';
import { type StoredEvent, contextOfCarrier, extractTraceHeaders } from '@parley/event-store';
import type { ConsumerDefinition } from './event-consumer.decorator.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';

export { SpanKind };

/** The OTEL_* settings of ServiceConfig that tracing reads. */
export interface TracingSettings {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_PROTOCOL?: 'http/protobuf' | 'http/json';
  OTEL_SERVICE_NAME?: string;
}

/** Set while tracing is on: every helper below checks it first, so with tracing off they cost one comparison. */
let tracer: Tracer | undefined;
let provider: NodeTracerProvider | undefined;

export const tracingEnabled = (): boolean => tracer !== undefined;

/**
 * Turns tracing on for this process when OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test hands a span processor):
 * spans are batched and exported over OTLP/HTTP, protobuf or JSON, to `<endpoint>/v1/traces`. Registers the
 * AsyncLocalStorage context manager (the active span follows async calls) and W3C Trace Context only. Answers
 * whether tracing is on; off, nothing is registered and the OpenTelemetry API stays its no-op self.
 */
export async function startTracing(service: string, settings: TracingSettings, options: { spanProcessor?: SpanProcessor } = {}): Promise<boolean> {
  if (provider) return true;
  const endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint && !options.spanProcessor) return false;
  // Loaded only when tracing is on: the SDK and its exporters are no part of an untraced service's start.
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
  ]);
  const exporterOf = async () => {
    const url = `${endpoint!.replace(/\/+$/, '')}/v1/traces`;
    return settings.OTEL_EXPORTER_OTLP_PROTOCOL === 'http/json'
      ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url })
      : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter({ url });
  };
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': settings.OTEL_SERVICE_NAME ?? `parley-${service}`,
      'service.namespace': 'parley',
      'service.instance.id': `${hostname()}-${process.pid}`,
    }),
    // Batched: the hot path only queues a finished span (OTEL_BSP_* tune the batches).
    spanProcessors: [options.spanProcessor ?? new BatchSpanProcessor(await exporterOf())],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  tracer = trace.getTracer('@parley/service-kit');
  return true;
}

/** Exports what is buffered and turns tracing off (at shutdown, and between tests). */
export async function stopTracing(): Promise<void> {
  const p = provider;
  if (!p) return;
  tracer = undefined;
  provider = undefined;
  // A collector that does not answer must not hold a draining service past its clean exit: the spans go instead.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.shutdown().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 3_000)))]);
  clearTimeout(timer);
  trace.disable();
  context.disable();
  propagation.disable();
}

export interface TracedOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent; the active context when absent. */
  parent?: Context;
}

/** The status of a failed span: the contract's error code when it has one, never the message (it may quote input). */
const failure = (err: unknown): string => {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : ((err as Error)?.name ?? 'error');
};

/** Runs `fn` in a span (active while it runs, ended when it settles); with tracing off, just runs it. */
export function traced<T>(name: string, options: TracedOptions, fn: (span?: Span) => Promise<T>): Promise<T> {
  if (!tracer) return fn();
  return tracer.startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, options.parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * A subject with its variable tokens (an agent or channel acting, a stream, a queue) as `*`: span names must not
 * multiply with IDs.
 */
export function subjectTemplate(subject: string): string {
  return subject.replace(/^(parley\.v1\.as\.(?:agent|channel))\.[^.]+\./, '$1.*.').replace(/^(parley\.v1\.(?:evt\.[^.]+|agent\.deliver|im\.deliver|stats\.queue|parked))\.[^.]+$/, '$1.*');
}

const messaging = (operation: 'send' | 'process' | 'receive', subject: string): Attributes => ({
  'messaging.system': 'nats',
  'messaging.operation.type': operation,
  'messaging.destination.name': subject,
  'messaging.destination.template': subjectTemplate(subject),
});

/** The IDs worth searching by; drawn by Parley, never a customer's address or words. */
function idAttributes(source: unknown, into: Attributes = {}): Attributes {
  if (source && typeof source === 'object') {
    const s = source as Record<string, unknown>;
    if (typeof s.sessionId === 'string') into['parley.session.id'] = s.sessionId;
    if (typeof s.agentId === 'string') into['parley.agent.id'] = s.agentId;
    if (typeof s.channel === 'string') into['parley.channel'] = s.channel;
  }
  return into;
}

/** A request to another service (client span; the context leaves in the request's headers). */
export const tracedRequest = <T>(subject: string, payload: object, fn: () => Promise<T>): Promise<T> =>
  traced(`send ${subjectTemplate(subject)}`, { kind: SpanKind.CLIENT, attributes: idAttributes(payload, messaging('send', subject)) }, fn);

/** Answering a request (server span), the child of the requester's span when its headers carry one. */
export const tracedAnswer = (pattern: string, subject: string, headers: MsgHdrs | undefined, fn: () => Promise<void>): Promise<void> =>
  traced(`process ${pattern}`, { kind: SpanKind.SERVER, parent: extractTraceHeaders(headers), attributes: messaging('process', subject) }, fn);

/** Adds the IDs of a request and of its reply, and the refusal code, to the active span (when tracing). */
export function annotateAnswer(payload: unknown, reply: unknown, outcome: string): void {
  const span = tracer && trace.getActiveSpan();
  if (!span) return;
  span.setAttributes(idAttributes(reply, idAttributes(payload)));
  span.setAttribute('parley.outcome', outcome);
  if (outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
}

/**
 * An event handled by a consumer: a child of the span that appended it (its `traceContext`). A consumer takes
 * every event of its aggregate; those none of its handlers is for (it only folds them into its states) make no span.
 */
export function tracedEvent(consumer: Pick<ConsumerDefinition, 'name' | 'routes'>, event: StoredEvent, fn: () => Promise<void>): Promise<void> {
  if (!tracer || !consumer.routes.some((r) => r.view.aggregate === event.aggregate && r.types.includes(event.type))) return fn();
  const attributes: Attributes = {
    ...messaging('process', `parley.v1.evt.${event.aggregate}.${event.aggregateId}`),
    'messaging.consumer.group.name': consumer.name,
    'messaging.message.id': event.id,
    'parley.event.type': event.type,
    'parley.event.position': event.position,
    [`parley.${event.aggregate}.id`]: event.aggregateId,
  };
  return traced(`process ${event.type}`, { kind: SpanKind.CONSUMER, parent: contextOfCarrier(event.traceContext), attributes }, fn);
}

/** A delivery published on the deliveries stream (producer span; its context leaves in the message headers). */
export const tracedPublish = (subject: string, delivery: { kind: string; sessionId?: string; deliveryId: string }, recipient: Attributes, fn: () => Promise<void>): Promise<void> =>
  traced(
    `publish ${subjectTemplate(subject)}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: { ...idAttributes(delivery, messaging('send', subject)), ...recipient, 'parley.delivery.kind': delivery.kind, 'messaging.message.id': delivery.deliveryId },
    },
    fn,
  );

/** A message taken from a stream or subject (a delivery a gateway relays): a child of the context its headers carry. */
export const tracedReceive = (name: string, subject: string, headers: MsgHdrs | undefined, attributes: Attributes, fn: () => Promise<void>): Promise<void> =>
  traced(name, { kind: SpanKind.CONSUMER, parent: extractTraceHeaders(headers), attributes: { ...messaging('process', subject), ...attributes } }, fn);

/**
 * Express middleware: an HTTP request (a customer's message to the web gateway, say) is a server span and the root
 * of its trace, named by its route once matched. An incoming `traceparent` is not trusted: these come from the
 * internet. Probes and scrapes (`/health`, `/metrics`) are not traced.
 */
export function traceHttpRequests(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const path = (req.url ?? '/').split('?')[0]!;
  if (!tracer || /^\/(health|metrics)(\/|$)/.test(path)) return next();
  const method = req.method ?? 'GET';
  const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path } }, ROOT_CONTEXT);
  res.once('close', () => {
    const route = (req as IncomingMessage & { route?: { path?: unknown } }).route?.path;
    if (typeof route === 'string') {
      span.updateName(`${method} ${route}`);
      span.setAttribute('http.route', route);
    }
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  context.with(trace.setSpan(ROOT_CONTEXT, span), next);
}

/** The active span's trace, for log lines (undefined with tracing off or outside a span). */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const span = tracer && trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { headers } from '@nats-io/transport-node';
import { injectTraceHeaders, type StoredEvent } from '@parley/event-store';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, ServiceConfig, loadConfig } from './service-config.js';
import { activeTraceIds, startTracing, stopTracing, subjectTemplate, traced, tracedAnswer, tracedEvent, tracedRequest, tracingEnabled } from './tracing.js';

afterEach(() => stopTracing());

const event = (traceContext?: StoredEvent['traceContext']): StoredEvent => ({
  id: 'e-1',
  type: 'CustomerMessageReceived',
  schemaVersion: 1,
  data: { body: 'secret words' },
  metadata: { correlationId: 'c', causationId: 'c', at: '2026-01-01T00:00:00Z', actor: 'customer' },
  aggregate: 'session',
  aggregateId: 's-1',
  position: 7,
  ...(traceContext ? { traceContext } : {}),
});

describe('the OTEL_* settings', () => {
  it('leave tracing off by default and take the standard variables', () => {
    expect(loadConfig(ServiceConfig, {}).OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    const c = loadConfig(ServiceConfig, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'acme-router',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(c).toMatchObject({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'acme-router', OTEL_TRACES_SAMPLER_ARG: 0.25 });
    expect(loadConfig(ServiceConfig, {}).OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/protobuf');
  });

  it('name each bad one', () => {
    let error: unknown;
    try {
      loadConfig(ServiceConfig, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_SERVICE_NAME: 'has space',
        OTEL_TRACES_SAMPLER: 'sometimes',
        OTEL_TRACES_SAMPLER_ARG: '2',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of [
      'OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318"',
      'OTEL_EXPORTER_OTLP_PROTOCOL="grpc"',
      'OTEL_SERVICE_NAME="has space"',
      'OTEL_TRACES_SAMPLER="sometimes"',
      'OTEL_TRACES_SAMPLER_ARG="2"',
    ])
      expect(problems).toContain(name);
  });
});

describe('tracing off', () => {
  it('registers nothing and runs the work as it is', async () => {
    expect(await startTracing('probe', {})).toBe(false);
    expect(tracingEnabled()).toBe(false);
    let sawSpan: unknown = 'not run';
    await traced('x', {}, async (span) => {
      sawSpan = span ?? trace.getActiveSpan();
    });
    expect(sawSpan).toBeUndefined();
    expect(activeTraceIds()).toBeUndefined();
  });
});

describe('subject templates', () => {
  it.each([
    ['parley.v1.as.agent.a-17.login', 'parley.v1.as.agent.*.login'],
    ['parley.v1.as.channel.web.im.message', 'parley.v1.as.channel.*.im.message'],
    ['parley.v1.evt.session.s-123', 'parley.v1.evt.session.*'],
    ['parley.v1.agent.deliver.a-17', 'parley.v1.agent.deliver.*'],
    ['parley.v1.im.deliver.xmpp', 'parley.v1.im.deliver.*'],
    ['parley.v1.stats.queue.support', 'parley.v1.stats.queue.*'],
    ['parley.v1.stats.queues', 'parley.v1.stats.queues'],
    ['parley.v1.im.message', 'parley.v1.im.message'],
  ])('%s names its spans as %s', (subject, template) => expect(subjectTemplate(subject)).toBe(template));
});

describe('spans in one process (in-memory exporter)', () => {
  // A new one each time: stopping tracing shuts the exporter down.
  let exporter: InMemorySpanExporter;
  const on = () => startTracing('probe', {}, { spanProcessor: new SimpleSpanProcessor((exporter = new InMemorySpanExporter())) });

  it('links a request, its answer, an event and its consumer into one trace through headers', async () => {
    await on();
    let carried: ReturnType<typeof injectTraceHeaders>;
    // The requester: its client span's context leaves in the headers; the answer continues it in "another process".
    await tracedRequest('parley.v1.as.channel.web.im.message', { channel: 'web', body: 'secret words', from: 'ann@example.test' }, async () => {
      carried = injectTraceHeaders();
    });
    let appended: StoredEvent | undefined;
    await tracedAnswer('parley.v1.as.channel.*.im.message', 'parley.v1.as.channel.web.im.message', carried, async () => {
      const h = injectTraceHeaders()!;
      appended = event({ traceparent: h.get('traceparent') });
    });
    let logged: unknown;
    const bufferDeliveries = { name: 'buffer-deliveries', routes: [{ view: { aggregate: 'session', initialState: () => 0, evolve: () => 0 }, types: ['CustomerMessageReceived'], method: 'm' }] };
    await tracedEvent(bufferDeliveries, appended!, async () => {
      logged = activeTraceIds();
    });
    // An event the consumer only folds into its states (no handler for it) runs without a span.
    let ran = false;
    await tracedEvent(bufferDeliveries, { ...appended!, type: 'SessionRated' }, async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['send parley.v1.as.channel.*.im.message', 'process parley.v1.as.channel.*.im.message', 'process CustomerMessageReceived']);
    const [client, server, consumer] = spans;
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(server!.parentSpanContext?.spanId).toBe(client!.spanContext().spanId);
    expect(consumer!.parentSpanContext?.spanId).toBe(server!.spanContext().spanId);
    expect([client!.kind, server!.kind, consumer!.kind]).toEqual([SpanKind.CLIENT, SpanKind.SERVER, SpanKind.CONSUMER]);
    expect(consumer!.attributes).toMatchObject({ 'parley.session.id': 's-1', 'parley.event.type': 'CustomerMessageReceived', 'messaging.consumer.group.name': 'buffer-deliveries' });
    expect(logged).toEqual({ trace_id: consumer!.spanContext().traceId, span_id: consumer!.spanContext().spanId });
    // Never a body or a customer's address.
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toMatch(/secret words|ann@example/);
  });

  it('starts a new trace for an event or request without a (valid) context, and marks failures by code only', async () => {
    await on();
    await tracedEvent(
      { name: 'c', routes: [{ view: { aggregate: 'session', initialState: () => 0, evolve: () => 0 }, types: ['CustomerMessageReceived'], method: 'm' }] },
      event({ traceparent: '00-zzzz-01' }),
      async () => undefined,
    );
    const h = headers();
    h.set('traceparent', 'garbage');
    await expect(tracedAnswer('p', 'p', h, async () => Promise.reject(Object.assign(new Error('no session for ann@example.test'), { code: 'not-found' })))).rejects.toThrow();
    const [a, b] = exporter.getFinishedSpans();
    expect(a!.parentSpanContext).toBeUndefined();
    expect(b!.parentSpanContext).toBeUndefined();
    expect(a!.spanContext().traceId).not.toBe(b!.spanContext().traceId);
    expect(b!.status).toEqual({ code: 2, message: 'not-found' });
  });
});

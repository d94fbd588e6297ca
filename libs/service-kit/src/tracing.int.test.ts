import { Inject, Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { DELIVERY_STREAM, LookupRequest, agentDeliverSubject } from '@parley/contracts';
import type { DomainEvent } from '@parley/domain';
import { type Consumption, type EventStore, consumeDurably } from '@parley/event-store';
import { type NatsServerHandle, eventually, startNatsServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceApp } from './bootstrap.js';
import { DeliveryPublisher } from './delivery.publisher.js';
import { type Consumed, EventConsumer, On, type StreamView } from './event-consumer.decorator.js';
import { Handles } from './handles.decorator.js';
import { natsRequest } from './nats-request.js';
import { ParleyPlatformModule } from './parley-platform.module.js';
import { ServiceConfig, loadConfig } from './service-config.js';
import { EVENT_STORE } from './tokens.js';
import { startTracing, stopTracing, traced, tracedReceive } from './tracing.js';

type ProbeEvent = DomainEvent & { type: 'ProbeHappened' };
const probes: StreamView<number, ProbeEvent> = { aggregate: 'probe', initialState: () => 0, evolve: (n) => n + 1 };

/** A request handler that only appends (as every Parley handler does)... */
@Injectable()
class ProbeHandler {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Handles('parley.v1.test.traced', LookupRequest)
  async happen(req: LookupRequest) {
    const id = req.address.split('@')[0]!;
    await this.store.append(
      { aggregate: 'probe', id },
      [{ id: `probe-${id}`, type: 'ProbeHappened', schemaVersion: 1, data: {}, metadata: { correlationId: id, causationId: id, at: new Date().toISOString(), actor: 'test' } }],
      'any',
    );
    return { sessionId: id };
  }
}

/** ...and a durable consumer of its event that delivers, as buffer and router do. */
@Injectable()
@EventConsumer('probe-followups')
class ProbeFollowUps {
  constructor(private readonly deliveries: DeliveryPublisher) {}

  @On(probes, 'ProbeHappened')
  async happened(_e: ProbeEvent, { stored }: Consumed<number>): Promise<void> {
    await this.deliveries.toAgent('a-1', { deliveryId: `d-${stored.id}`, kind: 'message', sessionId: stored.aggregateId, body: 'words nobody may trace' });
  }
}

@Module({})
class ProbeModule {}

let nats: NatsServerHandle;
let app: INestApplication;
let nc: NatsConnection;
let relay: Consumption;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  nats = await startNatsServer();
  // In one process the whole chain shares one exporter: what a real deployment spreads over services.
  await startTracing('probe', {}, { spanProcessor: new SimpleSpanProcessor(exporter) });
  const config = loadConfig(ServiceConfig, { NATS_URL: nats.url, LOG_LEVEL: 'silent' });
  app = await createServiceApp(
    { name: 'probe', config: ServiceConfig, module: (c) => ({ module: ProbeModule, imports: [ParleyPlatformModule.forService('probe', c)], providers: [ProbeHandler, ProbeFollowUps] }) },
    config,
  );
  await app.init();
  nc = await connect({ servers: nats.url });
  // The gateway's end of it: the delivery relayed in the trace its headers carry.
  relay = await consumeDurably(jetstream(nc), await jetstreamManager(nc), {
    stream: DELIVERY_STREAM,
    name: 'probe-relay',
    filterSubject: agentDeliverSubject('a-1'),
    handle: (m) => tracedReceive('relay agent delivery', m.subject, m.headers, {}, async () => undefined),
  });
});

afterAll(async () => {
  await relay?.stop();
  await nc?.close();
  await app?.close();
  await stopTracing();
  await nats?.stop();
});

describe('one trace through the service kit', () => {
  it('runs from a request through its event and consumer to the relayed delivery, each span the child of the one before', async () => {
    await traced('customer writes', { kind: SpanKind.SERVER }, () => natsRequest(nc, 'parley.v1.test.traced', { address: 's-42@example.test' }));
    const spans = await eventually(
      () => exporter.getFinishedSpans(),
      (all) => all.some((s) => s.name === 'relay agent delivery'),
      'the relayed delivery span',
      10_000,
    );
    const byName = (name: string): ReadableSpan => {
      const found = spans.find((s) => s.name === name);
      expect(found, name).toBeDefined();
      return found!;
    };
    const chain = [
      byName('customer writes'),
      byName('send parley.v1.test.traced'),
      byName('process parley.v1.test.traced'),
      byName('append probe'),
      byName('process ProbeHappened'),
      byName('publish parley.v1.agent.deliver.*'),
      byName('relay agent delivery'),
    ];
    const traceId = chain[0]!.spanContext().traceId;
    for (const span of chain) expect(span.spanContext().traceId, span.name).toBe(traceId);
    expect(chain[0]!.parentSpanContext).toBeUndefined();
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.parentSpanContext?.spanId, chain[i]!.name).toBe(chain[i - 1]!.spanContext().spanId);
    expect(chain.map((s) => s.kind)).toEqual([SpanKind.SERVER, SpanKind.CLIENT, SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.PRODUCER, SpanKind.CONSUMER]);
    expect(chain[2]!.attributes).toMatchObject({ 'parley.session.id': 's-42', 'parley.outcome': 'ok' });
    expect(chain[3]!.attributes).toMatchObject({ 'parley.probe.id': 's-42', 'parley.event.types': ['ProbeHappened'] });
    expect(chain[4]!.attributes).toMatchObject({ 'messaging.consumer.group.name': 'probe-followups', 'parley.event.type': 'ProbeHappened' });
    expect(chain[5]!.attributes).toMatchObject({ 'parley.delivery.kind': 'message', 'parley.session.id': 's-42', 'parley.agent.id': 'a-1' });
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toMatch(/words nobody may trace/);
  });
});

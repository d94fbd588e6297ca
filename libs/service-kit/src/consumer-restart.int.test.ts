// A durable consumption that ends by itself (here its durable deleted on the server, as a cluster that lost it would)
// is started again by ConsumerSupervisor only once the handlers it had in hand are done: a new one started beside
// them got the server's copy of an event still in a handler and ran it a second time at once. Real nats-server.
import { Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { agentAggregate } from '@parley/domain';
import { EVENTS_STREAM, type EventStore } from '@parley/event-store';
import { type NatsServerHandle, eventually, startNatsServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceApp } from './bootstrap.js';
import { ConsumerSupervisor } from './consumer-supervisor.service.js';
import { EventConsumer, On, stateOf } from './event-consumer.decorator.js';
import { ParleyPlatformModule } from './parley-platform.module.js';
import { ServiceConfig, loadConfig } from './service-config.js';
import { EVENT_STORE } from './tokens.js';

const CONSUMER = 'restart-probe';
let release!: () => void;
const released = new Promise<void>((r) => (release = r));

@Injectable()
@EventConsumer(CONSUMER)
class RestartProbe {
  running = 0;
  mostAtOnce = 0;
  readonly started: string[] = [];
  readonly finished: string[] = [];
  @On(stateOf(agentAggregate), 'AgentStateChanged')
  async changed(_e: unknown, { stored }: { stored: { id: string } }): Promise<void> {
    this.running++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    this.started.push(stored.id);
    try {
      await released;
    } finally {
      this.running--;
    }
    this.finished.push(stored.id);
  }
}

@Module({})
class ProbeModule {}

let nats: NatsServerHandle;
let nc: NatsConnection;
let app: INestApplication;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  // An ack wait long enough for the handler below to finish within it, short enough for the suite.
  const config = loadConfig(ServiceConfig, { NATS_URL: nats.url, LOG_LEVEL: 'silent', CONSUMER_PARTITIONS: '1', CONSUMER_ACK_WAIT_MS: '3000' });
  app = await createServiceApp(
    { name: 'restart-probe', config: ServiceConfig, module: (c) => ({ module: ProbeModule, imports: [ParleyPlatformModule.forService('restart-probe', c)], providers: [RestartProbe] }) },
    config,
  );
  await app.init();
  await eventually(
    () => app.get(ConsumerSupervisor).held()[CONSUMER] ?? [],
    (held) => held.length === 1,
    'the partition running',
    10_000,
  );
});

afterAll(async () => {
  release();
  await app?.close();
  await nc?.close();
  await nats?.stop();
});

describe('a durable consumption that ends by itself', () => {
  it('is started again only after the handlers it had in hand are done, so no event runs twice at once', async () => {
    const probe = app.get(RestartProbe);
    const at = new Date().toISOString();
    await app
      .get<EventStore>(EVENT_STORE)
      .append(
        { aggregate: 'agent', id: 'held' },
        [{ id: 'held-1', type: 'AgentStateChanged', schemaVersion: 1, data: { agentId: 'held', state: 'away', reason: null, at }, metadata: { correlationId: 'held-1', at, actor: 'test' } }],
        'no-stream',
      );
    await eventually(
      () => probe.started.length,
      (n) => n === 1,
      'the event in its handler',
      10_000,
    );
    // The durable is lost while the handler runs: the consumption ends, and a new durable (from the stream's start)
    // has the same event to deliver at once.
    await (await jetstreamManager(nc)).consumers.delete(EVENTS_STREAM, CONSUMER);
    // Longer than the supervisor's half-second pause before a restart, well within the ack wait.
    await eventually(
      () =>
        jetstreamManager(nc).then((jsm) =>
          jsm.consumers.info(EVENTS_STREAM, CONSUMER).then(
            () => 'created again',
            () => 'gone',
          ),
        ),
      (s) => s === 'gone',
      'the durable gone',
      5_000,
    );
    await new Promise((r) => setTimeout(r, 1_500));
    release();
    await eventually(
      () => probe.finished.length,
      (n) => n === 2,
      'the event handled again by the new consumption',
      15_000,
    );
    expect(probe.mostAtOnce).toBe(1);
    expect(probe.started).toEqual(['held-1', 'held-1']);
  });
});

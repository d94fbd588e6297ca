// How far a consumer got, as the server knows it (ConsumerSupervisor.handledThrough), on a real nats-server: a
// request that must not overtake a follow-up (buffer's queue statuses after a transfer) asks it.
import { Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { agentAggregate } from '@parley/domain';
import type { EventStore, StreamId } from '@parley/event-store';
import { type NatsServerHandle, eventually, startNatsServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceApp } from './bootstrap.js';
import { ConsumerSupervisor } from './consumer-supervisor.service.js';
import { EventConsumer, On, stateOf } from './event-consumer.decorator.js';
import { ParleyPlatformModule } from './parley-platform.module.js';
import { ServiceConfig, loadConfig } from './service-config.js';
import { EVENT_STORE } from './tokens.js';

const CONSUMER = 'progress-probe';
/** Events of this agent wait in the handler until the test lets them go. */
let gate: { open: () => void; opened: Promise<void> };
const newGate = () => {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  gate = { open, opened };
};

@Injectable()
@EventConsumer(CONSUMER)
class ProgressProbe {
  readonly handled: string[] = [];
  @On(stateOf(agentAggregate), 'AgentStateChanged')
  async changed(_e: unknown, { stored }: { stored: { aggregateId: string; id: string } }): Promise<void> {
    if (stored.aggregateId === 'held') await gate.opened;
    this.handled.push(stored.id);
  }
}

@Module({})
class ProbeModule {}

let nats: NatsServerHandle;
let app: INestApplication;

beforeAll(async () => {
  nats = await startNatsServer();
  const config = loadConfig(ServiceConfig, { NATS_URL: nats.url, LOG_LEVEL: 'silent', CONSUMER_PARTITIONS: '2' });
  app = await createServiceApp(
    { name: 'progress-probe', config: ServiceConfig, module: (c) => ({ module: ProbeModule, imports: [ParleyPlatformModule.forService('progress-probe', c)], providers: [ProgressProbe] }) },
    config,
  );
  await app.init();
  await eventually(
    () => app.get(ConsumerSupervisor).held()[CONSUMER] ?? [],
    (held) => held.length === 2,
    'both partitions running',
    10_000,
  );
});

afterAll(async () => {
  await app?.close();
  await nats?.stop();
});

const changed = (agentId: string, n: number) => ({
  id: `${agentId}-${n}`,
  type: 'AgentStateChanged',
  schemaVersion: 1,
  data: { agentId, state: n % 2 ? 'away' : 'available', reason: null, at: new Date().toISOString() },
  metadata: { correlationId: `${agentId}-${n}`, at: new Date().toISOString(), actor: 'test' },
});

describe('ConsumerSupervisor.handledThrough', () => {
  it("is below a stream's version while its event is in the handler, and reaches it once handled, in the stream's own partition", async () => {
    const store = app.get<EventStore>(EVENT_STORE);
    const supervisor = app.get(ConsumerSupervisor);
    const held: StreamId = { aggregate: 'agent', id: 'held' };
    newGate();
    const { version } = await store.append(held, [changed('held', 1)], 'no-stream');
    // Other streams go on meanwhile (their own lanes), whichever partition they fall in.
    for (const id of ['a', 'b', 'c', 'd']) await store.append({ aggregate: 'agent', id }, [changed(id, 1)], 'no-stream');
    const probe = app.get(ProgressProbe);
    await eventually(
      () => probe.handled.length,
      (n) => n === 4,
      'the other streams handled',
      10_000,
    );
    expect(await supervisor.handledThrough(CONSUMER, held)).toBeLessThan(version);
    gate.open();
    await eventually(
      () => supervisor.handledThrough(CONSUMER, held),
      (through) => through >= version,
      'the held event acknowledged',
      10_000,
    );
    expect(probe.handled).toContain('held-1');
  });
});

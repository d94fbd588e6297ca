// The hand-over of consumer partitions between instances of a service (ConsumerSupervisor), on a real nats-server:
// an instance shutting down hands its leases back and a standby takes them as soon as it sees the deletes, not at
// its next renewal; no partition is ever held by two instances. The leases here last 60 s (renewals every 20 s),
// so a take-over within the waits below can only come from the hand-back being seen.
import { Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Kvm } from '@nats-io/kv';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { agentAggregate } from '@parley/domain';
import { type EventStore, partitionOf, streamSubject } from '@parley/event-store';
import { type NatsServerHandle, eventually, startNatsServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceApp } from './bootstrap.js';
import { ConsumerSupervisor } from './consumer-supervisor.service.js';
import { EventConsumer, On, stateOf } from './event-consumer.decorator.js';
import { ParleyPlatformModule } from './parley-platform.module.js';
import { ServiceConfig, loadConfig } from './service-config.js';
import { EVENT_STORE } from './tokens.js';

const CONSUMER = 'lease-probe';
/** Agents whose streams fall in partition 0 of 2: one a test. */
const STUCK = Array.from({ length: 64 }, (_, i) => `stuck-${i}`).filter((id) => partitionOf(streamSubject({ aggregate: 'agent', id }), 2) === 0);

/** Events of the gate's agent stay in their handler, on every instance, until the test lets them go. */
const newGate = (id: string) => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  return { id, entered: false, release, released };
};
let gate = newGate('');

@Injectable()
@EventConsumer(CONSUMER)
class LeaseProbe {
  @On(stateOf(agentAggregate), 'AgentStateChanged')
  async changed(_e: unknown, { stored }: { stored: { aggregateId: string } }): Promise<void> {
    if (stored.aggregateId !== gate.id) return;
    gate.entered = true;
    await gate.released;
  }
}

@Module({})
class ProbeModule {}

let nats: NatsServerHandle;
let nc: NatsConnection;
const apps: INestApplication[] = [];

const startInstance = async (partitions: number, env: Record<string, string> = {}): Promise<{ app: INestApplication; held: () => number[] }> => {
  const config = loadConfig(ServiceConfig, { NATS_URL: nats.url, LOG_LEVEL: 'silent', CONSUMER_PARTITIONS: String(partitions), CONSUMER_LEASE_SECONDS: '60', ...env });
  const app = await createServiceApp(
    { name: 'lease-probe', config: ServiceConfig, module: (c) => ({ module: ProbeModule, imports: [ParleyPlatformModule.forService('lease-probe', c)], providers: [LeaseProbe] }) },
    config,
  );
  await app.init();
  apps.push(app);
  const supervisor = app.get(ConsumerSupervisor);
  return { app, held: () => supervisor.held()[CONSUMER] ?? [] };
};

/** Samples the instances every few milliseconds and notes any partition two of them run at once. */
const watchOverlaps = (instances: { held: () => number[] }[]) => {
  const overlaps: string[] = [];
  const timer = setInterval(() => {
    const seen = new Map<number, number>();
    instances.forEach((i, n) => {
      for (const p of i.held()) {
        if (seen.has(p)) overlaps.push(`partition ${p} run by instances ${seen.get(p)} and ${n}`);
        seen.set(p, n);
      }
    });
  }, 2);
  return { overlaps, stop: () => clearInterval(timer) };
};

/** A first instance of two partitions' consumer, once it runs both. */
async function startHoldingBoth(env: Record<string, string>) {
  const a = await startInstance(2, env);
  await eventually(
    () => a.held(),
    (held) => held.length === 2,
    'the first instance to take both partitions',
    8_000,
  );
  return a;
}

/** Appends an event of `agentId` (partition 0) that stays in its handler until the gate is released. */
async function stuckEvent(app: INestApplication, agentId: string): Promise<void> {
  gate = newGate(agentId);
  const at = new Date().toISOString();
  await app
    .get<EventStore>(EVENT_STORE)
    .append(
      { aggregate: 'agent', id: agentId },
      [{ id: `${agentId}-1`, type: 'AgentStateChanged', schemaVersion: 1, data: { agentId, state: 'away', reason: null, at }, metadata: { correlationId: agentId, at, actor: 'test' } }],
      'no-stream',
    );
  await eventually(
    () => gate.entered,
    (entered) => entered,
    'the event stuck in its handler',
    8_000,
  );
}

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  gate.release();
  for (const app of apps) await app.close().catch(() => undefined);
  await nc?.close();
  await nats?.stop();
});

describe('consumer partitions handed over between instances', () => {
  it('a standby takes the partitions of an instance shutting down as soon as they are handed back, never both running one', async () => {
    const a = await startInstance(2);
    expect(a.held()).toEqual([0, 1]);
    const b = await startInstance(2);
    expect(b.held()).toEqual([]); // a holds both until its next renewal (20 s away) or until it stops
    const sampler = watchOverlaps([a, b]);
    const closing = a.app.close();
    await eventually(
      () => b.held(),
      (held) => held.length === 2,
      'the standby to run both partitions',
      8_000,
    );
    await closing;
    sampler.stop();
    expect(sampler.overlaps).toEqual([]);
    expect(a.held()).toEqual([]);
    const kv = await new Kvm(nc).open('parley_consumer_leases');
    const holders = await Promise.all([0, 1].map(async (p) => (await kv.get(`${CONSUMER}.p${p}`))?.string()));
    expect(holders.every((h) => h !== undefined && h === holders[0])).toBe(true); // both held by b, under its one instance ID
    await b.app.close();
  });

  it('two standbys racing for a handed-back partition: exactly one takes it', async () => {
    const a = await startInstance(1);
    await eventually(
      () => a.held(),
      (held) => held.length === 1,
      'the first instance to take the partition',
      8_000,
    );
    const b = await startInstance(1);
    const c = await startInstance(1);
    const sampler = watchOverlaps([a, b, c]);
    await a.app.close();
    await eventually(
      () => [...b.held(), ...c.held()],
      (held) => held.length === 1,
      'one standby to run the partition',
      8_000,
    );
    // Not a wait for progress but the window to watch: the standbys renew again up to a second after seeing the
    // hand-back (renewSoon), and none of those renewals may take the partition a second time.
    await new Promise((r) => setTimeout(r, 1_500));
    sampler.stop();
    expect(sampler.overlaps).toEqual([]);
    expect([...b.held(), ...c.held()]).toEqual([0]);
    await Promise.all([b.app.close(), c.app.close()]);
  });

  it('hands a partition back while a handler it had in hand is stuck, without letting its other leases lapse', async () => {
    // Leases of 2 s; the hand-back waits up to the 5 s ack wait for the stuck handler. A renewal held up by that wait
    // let the partition it kept lapse, and the new instance took it while the first still ran it.
    const env = { CONSUMER_LEASE_SECONDS: '2', CONSUMER_ACK_WAIT_MS: '5000' };
    const a = await startHoldingBoth(env);
    await stuckEvent(a.app, STUCK[0]);
    const b = await startInstance(2, env);
    const both = watchOverlaps([a, b]);
    // Partition 0 goes to the new instance once the stuck handler is given up (the ack wait); partition 1 stays.
    await eventually(
      () => [a.held(), b.held()],
      ([ofA, ofB]) => ofA.join() === '1' && ofB.join() === '0',
      'partition 0 handed to the new instance, partition 1 kept',
      30_000,
    );
    both.stop();
    expect(both.overlaps).toEqual([]);
    gate.release();
    await Promise.all([a.app.close(), b.app.close()]);
  });

  it('hands back a partition whose start brought a stuck event into a handler, so another instance runs it', async () => {
    // A shuts down with a handler stuck in partition 0: it gives the handler up after the ack wait and B takes the
    // partition, whose start waits for the stuck event to come back. C starting then makes B hand partition 0 back
    // while it is still starting; the event comes back into B's handler and sticks there too. B's stop of that start
    // waited for it without bound, and the renewal kept B's lease on the partition for good: nobody ran it.
    const env = { CONSUMER_LEASE_SECONDS: '2', CONSUMER_ACK_WAIT_MS: '5000' };
    const a = await startHoldingBoth(env);
    await stuckEvent(a.app, STUCK[1]);
    const b = await startInstance(2, env);
    await a.app.close();
    const leases = await new Kvm(nc).open('parley_consumer_leases');
    const holderOf = async (p: number) => (await leases.get(`${CONSUMER}.p${p}`))?.string();
    const bHolds = await eventually(
      () => holderOf(0),
      (holder) => holder !== undefined,
      'the second instance to lease partition 0',
      15_000,
    );
    const c = await startInstance(2, env);
    await eventually(
      () => [...b.held(), ...c.held()].sort().join(),
      (held) => held === '0,1',
      'both partitions run, one by each of the two instances left',
      45_000,
    );
    expect(await holderOf(0)).not.toBe(bHolds);
    gate.release();
    await Promise.all([b.app.close(), c.app.close()]);
  });
});

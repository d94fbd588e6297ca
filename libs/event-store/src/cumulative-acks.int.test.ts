// Durable consumptions acknowledge cumulatively (ack-all), one acknowledgement per turn of the event loop, never
// past a message still in hand. On a real nats-server: a message retrying in its lane holds the ack floor while the
// other lanes go on; a crash then loses nothing (what was handled above the floor comes again, at least once); a
// durable made with explicit acknowledgements before is made again from its ack floor.
import { AckPolicy, DeliverPolicy, type JetStreamManager, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { type NatsServerHandle, eventually, startNatsServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeDurably } from './jetstream-event-store.adapter.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'ACKS', subjects: ['acks.>'], storage: StorageType.File });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const publish = async (subjects: string[]) => {
  const js = jetstream(nc);
  for (const s of subjects) await js.publish(s, s);
};
const info = (name: string) => jsm.consumers.info('ACKS', name);

describe('cumulative acknowledgements', () => {
  it('covers a burst with far fewer acknowledgements than messages, and ends with nothing pending', async () => {
    const first = (await jsm.streams.info('ACKS')).state.last_seq + 1;
    await publish(Array.from({ length: 300 }, (_, i) => `acks.burst.${i % 30}`));
    // Acknowledgements are plain publishes to the delivery's reply subject: a core subscription counts them.
    let acknowledgements = 0;
    const acks = nc.subscribe('$JS.ACK.ACKS.burst.>', { callback: () => acknowledgements++ });
    let handled = 0;
    const consumption = await consumeDurably(jetstream(nc), jsm, {
      stream: 'ACKS',
      name: 'burst',
      filterSubject: 'acks.burst.>',
      fromSequence: first,
      maxInFlight: 64,
      handle: async () => {
        handled++;
      },
    });
    await eventually(
      async () => (await info('burst')).ack_floor.stream_seq,
      (s) => s === first + 299,
      'the burst acknowledged',
      10_000,
    );
    expect(handled).toBe(300);
    const after = await info('burst');
    expect(after.config.ack_policy).toBe(AckPolicy.All);
    expect(after.num_ack_pending).toBe(0);
    await nc.flush();
    acks.unsubscribe();
    // One per message before; one per turn of the event loop now (a handful of pulls of 64).
    expect(acknowledgements).toBeGreaterThan(0);
    expect(acknowledgements).toBeLessThan(150);
    await consumption.stop();
  });

  it('holds the floor below a message retrying in its lane while other subjects go on, and a crash loses nothing', async () => {
    const start = (await jsm.streams.info('ACKS')).state.last_seq + 1;
    await publish(['acks.poison.bad', 'acks.poison.a', 'acks.poison.b', 'acks.poison.bad', 'acks.poison.c']);
    const seen: string[] = [];
    let failures = 0;
    const crashing = await consumeDurably(jetstream(nc), jsm, {
      stream: 'ACKS',
      name: 'poison',
      filterSubject: 'acks.poison.>',
      fromSequence: start,
      maxInFlight: 16,
      ackWaitMs: 2_000,
      retryDelayMs: () => 50,
      handle: async (m) => {
        if (m.subject === 'acks.poison.bad') {
          failures++;
          throw new Error('poison');
        }
        seen.push(`${m.subject}@${m.seq}`);
      },
    });
    // The other subjects are handled while the first message keeps failing ...
    await eventually(
      () => seen.length,
      (n) => n === 3,
      'the other subjects handled',
      10_000,
    );
    expect(seen).toEqual([`acks.poison.a@${start + 1}`, `acks.poison.b@${start + 2}`, `acks.poison.c@${start + 4}`]);
    await eventually(
      () => failures,
      (n) => n > 3,
      'the failing message retried',
      10_000,
    );
    // ... and nothing past the failing one is acknowledged: the floor is below it.
    expect((await info('poison')).ack_floor.stream_seq).toBeLessThan(start);
    crashing.kill();

    // The next holder gets everything above the floor again, the failing message first in its lane.
    const again: string[] = [];
    const next = await consumeDurably(jetstream(nc), jsm, {
      stream: 'ACKS',
      name: 'poison',
      filterSubject: 'acks.poison.>',
      maxInFlight: 16,
      ackWaitMs: 2_000,
      handle: async (m) => {
        again.push(`${m.subject}@${m.seq}`);
      },
    });
    await eventually(
      async () => (await info('poison')).ack_floor.stream_seq,
      (s) => s === start + 4,
      'everything acknowledged by the next holder',
      20_000,
    );
    expect(new Set(again)).toEqual(new Set([`acks.poison.bad@${start}`, `acks.poison.a@${start + 1}`, `acks.poison.b@${start + 2}`, `acks.poison.bad@${start + 3}`, `acks.poison.c@${start + 4}`]));
    // In order within the failing subject.
    expect(again.filter((s) => s.startsWith('acks.poison.bad'))).toEqual([`acks.poison.bad@${start}`, `acks.poison.bad@${start + 3}`]);
    await next.stop();
  }, 60_000);

  it('makes a durable with explicit acknowledgements again from its ack floor, keeping its place', async () => {
    const start = (await jsm.streams.info('ACKS')).state.last_seq + 1;
    await publish(['acks.old.1', 'acks.old.2', 'acks.old.3', 'acks.old.4']);
    await jsm.consumers.add('ACKS', {
      durable_name: 'old',
      filter_subject: 'acks.old.>',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start,
    });
    // The old consumer handled the first two.
    const c = await jetstream(nc).consumers.get('ACKS', 'old');
    const firstTwo = await c.fetch({ max_messages: 2, expires: 2_000 });
    for await (const m of firstTwo) await m.ackAck();
    expect((await info('old')).ack_floor.stream_seq).toBe(start + 1);

    const handled: string[] = [];
    const consumption = await consumeDurably(jetstream(nc), jsm, {
      stream: 'ACKS',
      name: 'old',
      filterSubject: 'acks.old.>',
      handle: async (m) => {
        handled.push(m.subject);
      },
    });
    await eventually(
      () => handled.length,
      (n) => n === 2,
      'the rest handled',
      10_000,
    );
    expect(handled).toEqual(['acks.old.3', 'acks.old.4']);
    const now = await info('old');
    expect(now.config.ack_policy).toBe(AckPolicy.All);
    await eventually(
      async () => (await info('old')).ack_floor.stream_seq,
      (s) => s === start + 3,
      'the rest acknowledged',
      10_000,
    );
    await consumption.stop();
  });
});

// A message retrying in its lane, or a handler slower than the ack wait, on a real nats-server: it and the messages
// waiting behind it are kept alive together, so the server does not send copies of them meanwhile (a copy that
// comes anyway is not handled twice), and after a crash the next holder gets the lane back in stream order.
import { AckPolicy, DeliverPolicy, type JetStreamManager, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { type NatsServerHandle, eventually, startNatsServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DurableConsumerOptions, consumeDurably } from './jetstream-event-store.adapter.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'RETRIES', subjects: ['retries.>'], storage: StorageType.File });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const publish = async (subjects: string[]): Promise<number> => {
  const js = jetstream(nc);
  let first = 0;
  for (const s of subjects) {
    const ack = await js.publish(s, s);
    first ||= ack.seq;
  }
  return first;
};

/** The durable `name` of retries.<name>.>, with a 1 s ack wait, as each test runs it. */
const consume = (name: string, options: Omit<DurableConsumerOptions, 'stream' | 'name' | 'filterSubject'>) =>
  consumeDurably(jetstream(nc), jsm, { stream: 'RETRIES', name, filterSubject: `retries.${name}.>`, maxInFlight: 16, ackWaitMs: 1_000, ...options });

describe('a message retrying in its lane', () => {
  it('keeps the messages behind it from being sent again, and handles each once', async () => {
    const start = await publish(['retries.slow.x', 'retries.slow.x', 'retries.slow.y']);
    const handled: number[] = [];
    let failingUntil = 0;
    const consumption = await consume('slow', {
      fromSequence: start,
      retryDelayMs: () => 100,
      handle: async (m) => {
        // The first message fails for three ack waits, then succeeds.
        if (m.seq === start) {
          failingUntil ||= Date.now() + 3_000;
          if (Date.now() < failingUntil) throw new Error('not yet');
        }
        handled.push(m.seq);
      },
    });
    await eventually(
      async () => (await jsm.consumers.info('RETRIES', 'slow')).num_ack_pending + (handled.length < 3 ? 1 : 0),
      (pending) => pending === 0,
      'all three handled and acknowledged',
      15_000,
    );
    // One more ack wait: a copy sent meanwhile would be handled by now.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(handled.sort((a, b) => a - b)).toEqual([start, start + 1, start + 2]);
    await consumption.stop();
  }, 30_000);

  it('keeps a handler slower than the ack wait, and the message behind it, from being sent again', async () => {
    const start = await publish(['retries.sluggish.x', 'retries.sluggish.x']);
    const handled: number[] = [];
    const consumption = await consume('sluggish', {
      fromSequence: start,
      // 2 s: the first progress signal comes by half of it, a second's margin for a loaded machine.
      ackWaitMs: 2_000,
      handle: async (m) => {
        // Two and a half ack waits, as a request held up by a NATS fault might take.
        if (m.seq === start) await new Promise((r) => setTimeout(r, 5_000));
        handled.push(m.seq);
      },
    });
    await eventually(
      async () => (await jsm.consumers.info('RETRIES', 'sluggish')).num_ack_pending + (handled.length < 2 ? 1 : 0),
      (pending) => pending === 0,
      'both handled and acknowledged',
      15_000,
    );
    expect(handled).toEqual([start, start + 1]);
    // The consumer's sequence counts every delivery, copies included: without progress signals both messages went
    // again after each ack wait.
    expect((await jsm.consumers.info('RETRIES', 'sluggish')).delivered.consumer_seq).toBe(2);
    await consumption.stop();
  }, 30_000);

  it('stops keeping a hung handler alive when its holder stops: the next holder gets its lane back, in order', async () => {
    const start = await publish(['retries.hung.x', 'retries.hung.x']);
    const hung = await consume('hung', {
      fromSequence: start,
      // The first message's handler never returns (a request that never comes back); the second waits behind it.
      handle: (m) => (m.seq === start ? new Promise<void>(() => undefined) : Promise.resolve()),
    });
    await eventually(
      async () => (await jsm.consumers.info('RETRIES', 'hung')).num_ack_pending,
      (pending) => pending === 2,
      'both in hand',
      5_000,
    );
    // Bounded: without drainMs a stop waits for the handler, which never returns.
    const stopped = hung.stop({ drainMs: 300 });
    const later = (await jetstream(nc).publish('retries.hung.x', 'later')).seq;
    const seen: number[] = [];
    const next = await consume('hung', {
      handle: async (m) => {
        seen.push(m.seq);
      },
    });
    await eventually(
      () => seen.length,
      (n) => n >= 3,
      'the next holder handled the lane',
      15_000,
    );
    expect(seen).toEqual([start, start + 1, later]);
    await stopped;
    await next.stop();
  }, 30_000);

  it('comes back in stream order to the next holder after a crash', async () => {
    const start = await publish(['retries.crash.bad', 'retries.crash.a', 'retries.crash.b', 'retries.crash.bad', 'retries.crash.c']);
    const seen: string[] = [];
    let failures = 0;
    const crashing = await consume('crash', {
      fromSequence: start,
      retryDelayMs: () => 50,
      handle: async (m) => {
        if (m.subject === 'retries.crash.bad') {
          failures++;
          throw new Error('poison');
        }
        seen.push(`${m.subject}@${m.seq}`);
      },
    });
    // The other subjects go on while the first message keeps failing, past several ack waits.
    await eventually(
      () => seen.length,
      (n) => n === 3,
      'the other subjects handled',
      10_000,
    );
    expect(seen).toEqual([`retries.crash.a@${start + 1}`, `retries.crash.b@${start + 2}`, `retries.crash.c@${start + 4}`]);
    const failingSince = Date.now();
    await eventually(
      () => Date.now() - failingSince,
      (t) => t > 2_500 && failures > 10,
      'the failing message retried past two ack waits',
      10_000,
    );
    crashing.kill();

    const again: string[] = [];
    const next = await consume('crash', {
      handle: async (m) => {
        again.push(`${m.subject}@${m.seq}`);
      },
    });
    await eventually(
      () => again.length,
      (n) => n >= 2,
      'the lane redelivered',
      15_000,
    );
    await eventually(
      async () => (await jsm.consumers.info('RETRIES', 'crash')).num_ack_pending,
      (n) => n === 0,
      'nothing pending',
      10_000,
    );
    // The lane in stream order, and nothing that was acknowledged comes again.
    expect(again).toEqual([`retries.crash.bad@${start}`, `retries.crash.bad@${start + 3}`]);
    await next.stop();
  }, 60_000);

  it('makes a durable with cumulative acknowledgements again with explicit ones, from its ack floor', async () => {
    // One acknowledgement there covers every earlier message, also one still in a lane: a crash would lose it.
    const start = await publish(['retries.old.1', 'retries.old.2', 'retries.old.3', 'retries.old.4']);
    await jsm.consumers.add('RETRIES', { durable_name: 'old', filter_subject: 'retries.old.>', ack_policy: AckPolicy.All, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start });
    const first = await jetstream(nc).consumers.get('RETRIES', 'old');
    let taken = 0;
    for await (const m of await first.fetch({ max_messages: 2, expires: 2_000 })) if (++taken === 2) await m.ackAck();
    expect((await jsm.consumers.info('RETRIES', 'old')).ack_floor.stream_seq).toBe(start + 1);

    const handled: string[] = [];
    const consumption = await consumeDurably(jetstream(nc), jsm, {
      stream: 'RETRIES',
      name: 'old',
      filterSubject: 'retries.old.>',
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
    expect(handled).toEqual(['retries.old.3', 'retries.old.4']);
    expect((await jsm.consumers.info('RETRIES', 'old')).config.ack_policy).toBe(AckPolicy.Explicit);
    await consumption.stop();
  });
});

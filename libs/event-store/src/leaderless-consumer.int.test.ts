// A durable consumption whose consumer cannot be asked after a disruption (its raft group without a leader on a
// cluster; here, on one real nats-server, a memory stream and its consumer gone with a killed server) ends with
// LeaderlessConsumerError after `leaderlessMs`, instead of asking forever: its owner (ConsumerSupervisor) then
// decides whether to create the durable again.
import { StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { type NatsServerHandle, eventually, startNatsServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderlessConsumerError, consumeDurably } from './jetstream-event-store.adapter.js';

let server: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe('a durable consumer that does not answer after a disruption', () => {
  it('ends the consumption with LeaderlessConsumerError after leaderlessMs', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'LEADERLESS', subjects: ['leaderless.>'], storage: StorageType.Memory });
    const handled: string[] = [];
    const consumption = await consumeDurably(jetstream(nc), jsm, {
      connection: nc,
      stream: 'LEADERLESS',
      name: 'probe',
      filterSubject: 'leaderless.>',
      leaderlessMs: 1_000,
      handle: async (m) => {
        handled.push(m.subject);
      },
    });
    await jetstream(nc).publish('leaderless.a', 'x');
    await eventually(
      () => handled.length,
      (n) => n === 1,
      'the first message handled',
      5_000,
    );
    // The server dies (SIGKILL: no word to the pull in flight, as a lost cluster node) and comes back without its
    // memory stream: the connection comes back, the consumer cannot be asked.
    const pid = server.pid!;
    process.kill(pid, 'SIGKILL');
    await eventually(
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      (gone) => gone,
      'the killed nats-server gone',
      5_000,
    );
    await server.start();
    const reason = await Promise.race([consumption.ended, new Promise((r) => setTimeout(() => r('still consuming after 20 s'), 20_000))]);
    expect(reason).toBeInstanceOf(LeaderlessConsumerError);
    expect((reason as LeaderlessConsumerError).consumer).toBe('probe');
    expect((reason as LeaderlessConsumerError).silentForMs).toBeGreaterThanOrEqual(1_000);
    await consumption.stop();
  });
});

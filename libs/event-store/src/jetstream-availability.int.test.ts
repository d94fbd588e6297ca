// Many instances starting at once on a cluster still electing its leaders see timeouts and "temporarily
// unavailable" for a few seconds; a CI run once lost a whole HA rehearsal to one service that exited on the
// first. Set-up now waits JetStream out. Here, on a real three-node cluster with two nodes down (no quorum, no
// meta leader), the event store, a KV bucket and another stream are opened at three replicas: each waits, and
// completes once the nodes are back.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { type NatsClusterHandle, eventually, startNatsCluster } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JetStreamWait } from './jetstream-availability.js';
import { JetStreamEventStore } from './jetstream-event-store.adapter.js';
import { ensureDurableStream, openKvBucket } from './stream-durability.js';

let cluster: NatsClusterHandle;
let nc: NatsConnection;

beforeAll(async () => {
  cluster = await startNatsCluster();
  await cluster.waitForMetaLeader();
  nc = await connect(cluster.connectOptions('admin', { servers: `nats://127.0.0.1:${cluster.nodes[0]!.port}`, maxReconnectAttempts: -1, reconnectTimeWait: 100 }));
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

describe('setting up streams and buckets while JetStream is unavailable', () => {
  it('waits for a cluster without a meta leader, then creates each at three replicas', async () => {
    await cluster.stopNode(1);
    await cluster.stopNode(2);
    const waits: JetStreamWait[] = [];
    const listener = (message: unknown) => waits.push(message as JetStreamWait);
    subscribe('parley:jetstream-wait', listener);
    try {
      const durability = { replicas: 3, storage: 'file' as const };
      const opening = Promise.all([
        JetStreamEventStore.create(nc, { streamName: 'STARTING_EVENTS', ...durability }),
        openKvBucket(nc, 'starting_bucket', { history: 1 }, durability),
        ensureDurableStream(nc, { name: 'STARTING_OTHER', subjects: ['starting.other.>'] }, durability, []),
      ]);
      // The condition, not a time: every one of the three has waited at least once.
      await eventually(
        () => new Set(waits.map((w) => w.what)),
        (what) => what.size === 3,
        'each set-up step to wait for JetStream',
        30_000,
      );
      expect([...new Set(waits.map((w) => w.what))].sort()).toEqual(['bucket starting_bucket', 'stream STARTING_EVENTS', 'stream STARTING_OTHER']);
      await Promise.all([cluster.start(1), cluster.start(2)]);
      const [, kv, other] = await opening;
      expect((await kv.status()).replicas).toBe(3);
      expect(other.config.num_replicas).toBe(3);
      const placements = await cluster.waitForStreams({ streams: ['STARTING_EVENTS'] });
      expect(placements[0]!.replicas.length + 1).toBe(3);
    } finally {
      unsubscribe('parley:jetstream-wait', listener);
    }
  }, 90_000);
});

import { jetstreamManager, type JetStreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@parley/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JetStreamEventStore } from './jetstream-event-store.adapter.js';
import { StreamDurabilityError, ensureDurableStream, openKvBucket } from './stream-durability.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

beforeEach(async () => {
  for (const s of await jsm.streams.names().next()) await jsm.streams.delete(s);
});

const refusal = async (p: Promise<unknown>): Promise<StreamDurabilityError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StreamDurabilityError);
  return err as StreamDurabilityError;
};

describe('stream durability on a real nats-server', () => {
  it('creates the event stream with the asked storage', async () => {
    await JetStreamEventStore.create(nc, { streamName: 'DURABLE_EVENTS', storage: 'memory' });
    expect((await jsm.streams.info('DURABLE_EVENTS')).config.storage).toBe(StorageType.Memory);
  });

  it('refuses an existing event stream whose replicas differ, naming both counts, and leaves it as it was', async () => {
    await JetStreamEventStore.create(nc, { streamName: 'DURABLE_EVENTS' });
    const err = await refusal(JetStreamEventStore.create(nc, { streamName: 'DURABLE_EVENTS', replicas: 3 }));
    expect(err.message).toContain('replicas: the stream has 1, PARLEY_STREAM_REPLICAS asks 3');
    expect(err.problems).toEqual(['DURABLE_EVENTS: replicas: the stream has 1, PARLEY_STREAM_REPLICAS asks 3']);
    expect((await jsm.streams.info('DURABLE_EVENTS')).config.num_replicas).toBe(1);
  });

  it('refuses an existing event stream stored otherwise', async () => {
    await JetStreamEventStore.create(nc, { streamName: 'DURABLE_EVENTS', storage: 'memory' });
    const err = await refusal(JetStreamEventStore.create(nc, { streamName: 'DURABLE_EVENTS', storage: 'file' }));
    expect(err.differences).toEqual(['storage: the stream has memory, PARLEY_STREAM_STORAGE asks file']);
  });

  it('reports other settings that differ, then updates them', async () => {
    await JetStreamEventStore.create(nc, { streamName: 'DURABLE_EVENTS', duplicateWindowMs: 60_000 });
    const reported: string[] = [];
    await JetStreamEventStore.create(nc, { streamName: 'DURABLE_EVENTS', duplicateWindowMs: 120_000, onSettingsDiffer: (_s, d) => reported.push(...d) });
    expect(reported).toEqual(['duplicate_window: the stream has 60000000000, Parley creates 120000000000']);
    expect((await jsm.streams.info('DURABLE_EVENTS')).config.duplicate_window).toBe(120_000_000_000);
  });

  it('creates KV buckets with the asked storage and refuses an existing one stored otherwise', async () => {
    const kv = await openKvBucket(nc, 'durable_bucket', { history: 1 }, { replicas: 1, storage: 'memory' });
    expect((await kv.status()).storage).toBe(StorageType.Memory);
    const err = await refusal(openKvBucket(nc, 'durable_bucket', { history: 1 }, { replicas: 1, storage: 'file' }));
    expect(err.stream).toBe('KV_durable_bucket');
  });
});

describe('other streams (deliveries, parked events)', () => {
  const config = { name: 'DURABLE_OTHER', subjects: ['durable.other.>'], max_age: 60_000_000_000 };

  it('creates a missing stream as asked, then refuses it when asked otherwise and reports other drift', async () => {
    const created = await ensureDurableStream(nc, config, { replicas: 1, storage: 'memory' }, ['max_age']);
    expect(created.config.storage).toBe(StorageType.Memory);
    await refusal(ensureDurableStream(nc, config, { replicas: 1, storage: 'file' }, ['max_age']));
    const reported: string[] = [];
    await ensureDurableStream(nc, { ...config, max_age: 120_000_000_000 }, { replicas: 1, storage: 'memory' }, ['max_age'], (_s, d) => reported.push(...d));
    expect(reported).toEqual(['max_age: the stream has 60000000000, Parley creates 120000000000']);
    // Reported, not changed.
    expect((await jsm.streams.info('DURABLE_OTHER')).config.max_age).toBe(60_000_000_000);
  });
});

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@parley/testing';
import { afterAll, beforeAll } from 'vitest';
import { describeEventStoreContract } from './event-store.contract.js';
import { JetStreamEventStore } from './jetstream-event-store.adapter.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let n = 0;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

// Each test gets its own stream and subjects space by stream name, on one real nats-server for the suite.
describeEventStoreContract('jetstream', async (upcasters) => {
  const streamName = `CONTRACT_${++n}`;
  const jsm = await (await import('@nats-io/jetstream')).jetstreamManager(nc);
  for (const s of await jsm.streams.names().next()) await jsm.streams.delete(s);
  return JetStreamEventStore.create(nc, { streamName, upcasters });
});

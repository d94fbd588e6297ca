import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsClusterHandle, startNatsCluster } from './nats-cluster.launcher.js';

let cluster: NatsClusterHandle;

beforeAll(async () => {
  cluster = await startNatsCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

const api = async (subject: string, body: unknown = '') => {
  const nc = await connect(cluster.connectOptions('admin'));
  try {
    return (await nc.request(subject, typeof body === 'string' ? body : JSON.stringify(body), { timeout: 5_000 })).json<Record<string, unknown>>();
  } finally {
    await nc.close();
  }
};

describe('a three-node nats-server cluster on loopback', () => {
  it('refuses clients without credentials, as the single-node launcher does', async () => {
    await expect(connect({ servers: cluster.url.split(','), reconnect: false })).rejects.toThrow();
  });

  it('keeps a three-replica stream through the loss of its leader and a restart of every node', async () => {
    const created = await api('$JS.API.STREAM.CREATE.HA_TEST', { name: 'HA_TEST', subjects: ['ha.test.>'], num_replicas: 3, storage: 'file' });
    expect(created.error).toBeUndefined();
    const [first] = await cluster.waitForStreams({ streams: ['HA_TEST'], current: true });
    expect(first!.replicas).toHaveLength(2);

    const leader = cluster.nodes.findIndex((n) => n.name === first!.leader);
    await cluster.kill(leader);
    expect(cluster.nodes[leader]!.running).toBe(false);
    const [moved] = await cluster.waitForStreams({ streams: ['HA_TEST'] });
    expect(moved!.leader).not.toBe(first!.leader);
    const nc = await connect(cluster.connectOptions('admin'));
    const ack = (await nc.request('ha.test.one', 'written while a node is down', { timeout: 5_000 })).json<{ seq: number }>();
    expect(ack.seq).toBe(1);
    await nc.close();

    await cluster.start(leader);
    const [back] = await cluster.waitForStreams({ streams: ['HA_TEST'], current: true });
    expect(back!.replicas.find((r) => r.name === first!.leader)?.current).toBe(true);

    await cluster.restartAll();
    await cluster.waitForStreams({ streams: ['HA_TEST'], current: true });
    const info = await api('$JS.API.STREAM.INFO.HA_TEST');
    expect((info.state as { messages: number }).messages).toBe(1);
  }, 120_000); // a kill, a start and a restart of three nodes, each awaited: more than the int tier's 60 s when loaded
});

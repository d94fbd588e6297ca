// One instance at a time holds a singleton lease (SingletonLease), on a real nats-server: of two instances exactly
// one holds it; one that stops hands it back (deletes its key) and the other takes it at its next try; one that
// dies (its connection gone, nothing handed back) loses it with the bucket's TTL and the other takes it after that,
// not before.
import { Kvm } from '@nats-io/kv';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { Logger } from '@nestjs/common';
import { type NatsServerHandle, eventually, startNatsServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceConfig, loadConfig } from './service-config.js';
import { SingletonLease } from './singleton-lease.js';

/** One TTL for the bucket (made by the first instance), as every service of a deployment has. */
const LEASE_SECONDS = 3;
let nats: NatsServerHandle;
const connections: NatsConnection[] = [];
const leases: SingletonLease[] = [];

beforeAll(async () => {
  Logger.overrideLogger(false); // the dead holder's failed renewals are expected here
  nats = await startNatsServer();
});

afterAll(async () => {
  for (const lease of leases) await lease.stop().catch(() => undefined);
  for (const nc of connections) await nc.close().catch(() => undefined);
  await nats.stop();
});

/** An instance trying for the job's lease, recording each change it is told of. */
async function instance(job: string, leaseSeconds: number) {
  const nc = await connect({ servers: nats.url });
  connections.push(nc);
  const config = loadConfig(ServiceConfig, { NATS_URL: nats.url, LOG_LEVEL: 'silent', CONSUMER_LEASE_SECONDS: String(leaseSeconds) });
  const changes: boolean[] = [];
  const lease = await SingletonLease.start(nc, config, 'probe', job, (held) => changes.push(held));
  leases.push(lease);
  return { nc, lease, changes };
}

describe('singleton lease', () => {
  it('is held by exactly one of two instances, and handed back at once when its holder stops, for the other to take', async () => {
    const a = await instance('handed-back', LEASE_SECONDS);
    const b = await instance('handed-back', LEASE_SECONDS);
    expect([a.lease.held, b.lease.held]).toEqual([true, false]);
    expect(a.changes).toEqual([true]);
    await a.lease.stop();
    expect(a.lease.held).toBe(false);
    expect(a.changes).toEqual([true, false]);
    // Handed back, not left to lapse: the key is deleted by the time stop() returns.
    expect((await (await new Kvm(a.nc).open('parley_consumer_leases')).get('singleton.probe.handed-back'))?.operation).toBe('DEL');
    await eventually(
      async () => b.lease.held,
      (held) => held,
      'the other instance to take the lease',
      10_000,
    );
    expect(b.changes).toEqual([true]);
  }, 30_000);

  it('passes to the other instance only after the TTL when its holder dies without handing it back', async () => {
    const a = await instance('lapsed', LEASE_SECONDS);
    const b = await instance('lapsed', LEASE_SECONDS);
    expect([a.lease.held, b.lease.held]).toEqual([true, false]);
    // The holder's connection goes: it can neither renew nor hand the lease back.
    const diedAt = Date.now();
    await a.nc.close();
    await eventually(
      async () => b.lease.held,
      (held) => held,
      'the other instance to take the lapsed lease',
      15_000,
    );
    // Not before the key could have lapsed: the last renewal was at most a renewal period (1 s) before the death.
    expect(Date.now() - diedAt).toBeGreaterThanOrEqual(LEASE_SECONDS * 1000 - 1_000);
    // The dead holder stops counting itself the holder once its key would have lapsed.
    await eventually(
      async () => a.lease.held,
      (held) => !held,
      'the dead holder to let go',
      10_000,
    );
    // And says so, once: its metric and log follow what it does.
    await eventually(
      async () => a.changes,
      (changes) => changes.length === 2,
      'the dead holder to announce it let go',
      10_000,
    );
    expect(a.changes).toEqual([true, false]);
    expect(b.changes).toEqual([true]);
  }, 40_000);
});

// The hand-over of queues between router instances (QueueLeases), on a real nats-server with the router's own NATS
// user and permissions: a router shutting down stops routing, then hands its queues back, and the others take them
// as soon as they see the deletes, not at their next renewal; no queue is ever routed by two routers. The leases
// here last 60 s (renewals every 20 s), so a take-over within the waits below can only come from the hand-back.
import { Logger } from '@nestjs/common';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { loadConfig } from '@parley/service-kit';
import { type NatsServerHandle, eventually, startNatsServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueLeases } from './queue-leases.service.js';
import { RouterConfig } from './router.config.js';
import type { RoutingViewService } from './routing-view.service.js';

let nats: NatsServerHandle;
const connections: NatsConnection[] = [];
const running: QueueLeases[] = [];

/** A routing view knowing two queues, each with a waiting session. */
const view = {
  runner: {
    state: {
      sessions: {
        s1: { status: 'queued', place: { queueId: 'q1' } },
        s2: { status: 'queued', place: { queueId: 'q2' } },
      },
      agents: {},
    },
  },
} as unknown as RoutingViewService;

const startRouter = async (id: string): Promise<QueueLeases> => {
  const nc = await connect(nats.connectOptions('router'));
  connections.push(nc);
  const config = loadConfig(RouterConfig, { ...nats.serviceEnv('router'), LOG_LEVEL: 'silent', QUEUE_LEASE_SECONDS: '60', ROUTER_INSTANCE_ID: id });
  const leases = new QueueLeases(nc, config, view);
  await leases.onModuleInit();
  await leases.onApplicationBootstrap();
  running.push(leases);
  return leases;
};

/** Samples the routers every few milliseconds and notes any queue two of them route at once. */
const watchOverlaps = (routers: QueueLeases[]) => {
  const overlaps: string[] = [];
  const timer = setInterval(() => {
    const seen = new Map<string, string>();
    for (const r of routers)
      for (const q of r.queues) {
        if (seen.has(q)) overlaps.push(`${q} routed by ${seen.get(q)} and ${r.instanceId}`);
        seen.set(q, r.instanceId);
      }
  }, 2);
  return { overlaps, stop: () => clearInterval(timer) };
};

beforeAll(async () => {
  Logger.overrideLogger(false); // the routers' 'routing queue' lines
  nats = await startNatsServer({ unauthenticated: 'refused' });
});

afterAll(async () => {
  for (const r of running) await r.beforeApplicationShutdown().catch(() => undefined);
  for (const nc of connections) await nc.close().catch(() => undefined);
  await nats?.stop();
});

describe('queues handed over between router instances', () => {
  it('a router shutting down stops routing before its leases go, and another takes its queues at once', async () => {
    const a = await startRouter('router-a');
    expect([...a.queues].sort()).toEqual(['q1', 'q2']);
    const b = await startRouter('router-b');
    expect([...b.queues]).toEqual([]); // a holds both until its next renewal (20 s away) or until it stops
    let acquired = 0;
    b.onChange(() => acquired++);
    const kv = await new Kvm(connections[0]!).open('parley_router_queues');
    // What routes with a's leases (the routing loop) stops first: the leases are still a's while it does.
    const heldWhileDraining: (string | undefined)[] = [];
    a.onRelease(async () => {
      for (const q of ['q1', 'q2']) heldWhileDraining.push((await kv.get(`queue.${q}`))?.string());
    });
    const sampler = watchOverlaps([a, b]);
    const stopping = a.beforeApplicationShutdown();
    await eventually(
      () => [...b.queues].sort(),
      (q) => q.length === 2,
      'router-b to route both queues',
      8_000,
    );
    await stopping;
    sampler.stop();
    expect(sampler.overlaps).toEqual([]);
    expect(heldWhileDraining).toEqual(['router-a', 'router-a']);
    expect([...a.queues]).toEqual([]);
    expect(acquired).toBeGreaterThan(0);
    expect((await kv.get('queue.q1'))?.string()).toBe('router-b');
    expect((await kv.get('queue.q2'))?.string()).toBe('router-b');
    await b.beforeApplicationShutdown();
  });

  it('two routers racing for handed-back queues: each queue goes to exactly one', async () => {
    const a = await startRouter('router-c');
    expect([...a.queues].sort()).toEqual(['q1', 'q2']);
    const b = await startRouter('router-d');
    const c = await startRouter('router-e');
    const sampler = watchOverlaps([a, b, c]);
    await a.beforeApplicationShutdown();
    await eventually(
      () => [...b.queues, ...c.queues].sort(),
      (q) => q.length === 2,
      'the two queues to be routed again',
      8_000,
    );
    // Not a wait for progress but the window to watch: the routers renew again up to a second after seeing the
    // hand-back, and none of those renewals may take a queue a second time.
    await new Promise((r) => setTimeout(r, 1_500));
    sampler.stop();
    expect(sampler.overlaps).toEqual([]);
    expect([...b.queues, ...c.queues].sort()).toEqual(['q1', 'q2']);
  });
});

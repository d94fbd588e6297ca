import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { type AgentDelivery, type CustomerDelivery, SUBJECTS } from '@parley/contracts';
import type { ServiceHandle } from '@parley/testing';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyStack, until } from './parley-stack.js';

const AGENTS = 6;
const CUSTOMERS = 24;
const MESSAGES = 8;

let stack: ParleyStack;
let buffer2: ServiceHandle;
let router2: ServiceHandle;
let reporting2: ServiceHandle;
/** What agents saw of customers' words, by session, in order. */
const seen = new Map<string, string[]>();

const centerFile = join(mkdtempSync(join(tmpdir(), 'parley-event-path-')), 'center.yaml');
writeFileSync(
  centerFile,
  `entryPoints:
  - id: ep-load
  - id: ep-idle
    idleTimeout: { warnAfterSeconds: 1, endAfterSeconds: 3 }
  - id: ep-wait
queues:
  - id: q-load
  - id: q-idle
  - id: q-wait
`,
);

beforeAll(async () => {
  // Four partitions per consumer, shared by two instances of buffer and of router.
  const env = { PARLEY_CENTER_FILE: centerFile, CONSUMER_PARTITIONS: '4', CONSUMER_LEASE_SECONDS: '2', CONSUMER_MAX_ATTEMPTS: '3', CHECKPOINT_INTERVAL_MS: '200', ROUTING_TICK_MS: '100' };
  stack = await ParleyStack.start(env);
  buffer2 = await stack.launchExtra('buffer', env);
  router2 = await stack.launchExtra('router', env);
  reporting2 = await stack.launchExtra('reporting', env);
  await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'ep-load', address: 'load@support.example.test', queueId: 'q-load', leaseSeconds: 600 });
  await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'ep-idle', address: 'idle@support.example.test', queueId: 'q-idle', leaseSeconds: 600 });
  await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'ep-wait', address: 'wait@support.example.test', queueId: 'q-wait', leaseSeconds: 600 });
});

afterAll(async () => {
  await buffer2?.stop();
  await router2?.stop();
  await reporting2?.stop();
  await stack?.stop();
});

const login = (agentId: string, queues: string[], capacity = 4) =>
  stack.request(SUBJECTS.agentLogin, { agentId, displayName: agentId, kind: 'human', skills: {}, languages: ['en'], capacity, capabilities: [], queues, leaseSeconds: 600 });

describe('the event path at scale', () => {
  it('shares every consumer between two instances and keeps each session in order, each message delivered once', async () => {
    // Both instances hold partitions of buffer's consumer (leases in KV).
    const kv = await new Kvm(stack.nc).open('parley_consumer_leases');
    await until(
      async () => {
        const holders = new Set<string>();
        for (let p = 0; p < 4; p++) {
          const e = await kv.get(`buffer-deliveries.p${p}`);
          if (e?.operation === 'PUT') holders.add(e.string());
        }
        return holders.size === 2 || undefined;
      },
      'two buffer instances sharing the partitions',
      30_000,
    );

    const deliveryIds = new Set<string>();
    let duplicates = 0;
    for (let i = 0; i < AGENTS; i++) {
      const agentId = `ep-agent-${i}`;
      const inbox = await stack.agentInbox(agentId);
      inbox.onItem((d: AgentDelivery) => {
        if (d.kind === 'offer') void stack.request(SUBJECTS.agentOfferAccept, { agentId, offerId: d.offerId });
        if (d.kind === 'message' && d.author === 'customer') {
          if (deliveryIds.has(d.deliveryId)) duplicates++;
          deliveryIds.add(d.deliveryId);
          seen.set(d.sessionId, [...(seen.get(d.sessionId) ?? []), d.body!]);
        }
      });
      await login(agentId, ['q-load']);
    }
    const customers = await stack.customerInbox('load');
    // Every customer writes all their messages at once, without waiting: order must hold anyway.
    const sessions = await Promise.all(
      Array.from({ length: CUSTOMERS }, async (_, c) => {
        const from = `load-${c}@customers.example.test`;
        const sub = await stack.request<{ sessionId: string; sessionAddress: string; status: string }>(SUBJECTS.imSubscribe, { channel: 'load', from, to: 'load@support.example.test' });
        expect(sub.status).toBe('available');
        for (let n = 1; n <= MESSAGES; n++) {
          const reply = await stack.request(SUBJECTS.imMessage, { channel: 'load', from, to: sub.sessionAddress, messageId: `m${n}`, body: `${c}:${n}` });
          expect(reply).toMatchObject({ accepted: true });
        }
        return { c, sessionId: sub.sessionId };
      }),
    );
    await until(() => sessions.every((s) => (seen.get(s.sessionId)?.length ?? 0) >= MESSAGES) || undefined, 'every message at its agent', 60_000);
    for (const s of sessions) expect(seen.get(s.sessionId)).toEqual(Array.from({ length: MESSAGES }, (_, n) => `${s.c}:${n + 1}`));
    expect(duplicates).toBe(0);
    expect(customers.items.filter((d) => d.kind === 'text')).toHaveLength(0);
  });

  it('parks a poison event after its retries while other sessions go on', async () => {
    const agentId = 'ep-poison-agent';
    const inbox = await stack.agentInbox(agentId);
    inbox.onItem((d) => {
      if (d.kind === 'offer') void stack.request(SUBJECTS.agentOfferAccept, { agentId, offerId: d.offerId });
      if (d.kind === 'message' && d.author === 'customer') seen.set(d.sessionId, [...(seen.get(d.sessionId) ?? []), d.body!]);
    });
    await login(agentId, ['q-load']);
    const sub = await stack.request<{ sessionId: string; sessionAddress: string }>(SUBJECTS.imSubscribe, { channel: 'load', from: 'poisoned@customers.example.test', to: 'load@support.example.test' });
    // An event no handler can take (its data is not an object): written straight to the store, as a bug would.
    await jetstream(stack.nc).publish(
      `parley.v1.evt.session.${sub.sessionId}`,
      JSON.stringify({
        id: 'poison-1',
        type: 'CustomerMessageReceived',
        schemaVersion: 1,
        aggregateId: sub.sessionId,
        data: null,
        metadata: { correlationId: 'p', causationId: 'p', at: new Date().toISOString(), actor: 'test' },
      }),
    );
    const jsm = await jetstreamManager(stack.nc);
    // The router and presence-proxy park it too, on their own subjects: wait for buffer's own.
    const parked = await until(
      () =>
        jsm.streams.getMessage('PARLEY_PARKED', { last_by_subj: 'parley.v1.parked.buffer-deliveries' }).then(
          (m) => m ?? undefined,
          () => undefined,
        ),
      'the poison event parked by buffer',
      30_000,
    );
    expect(parked.json<{ consumer: string; event: { id: string }; attempts: number }>()).toMatchObject({ event: { id: 'poison-1' }, attempts: 3 });
    // Another session goes on meanwhile and after.
    const other = await stack.request<{ sessionId: string; sessionAddress: string }>(SUBJECTS.imSubscribe, {
      channel: 'load',
      from: 'healthy@customers.example.test',
      to: 'load@support.example.test',
    });
    await stack.request(SUBJECTS.imMessage, { channel: 'load', from: 'healthy@customers.example.test', to: other.sessionAddress, messageId: 'h1', body: 'still flowing' });
    await until(() => seen.get(other.sessionId)?.includes('still flowing') || undefined, 'the healthy session delivered to its agent', 30_000);
    await until(async () => {
      const metrics = await Promise.all([stack.service('buffer'), buffer2].map((s) => fetch(`http://127.0.0.1:${s.httpPort}/metrics`).then((r) => r.text())));
      return metrics.some((m) => /parley_events_parked_total\{consumer="buffer-deliveries(-p\d)?"\} [1-9]/.test(m)) || undefined;
    }, 'the parked metric');
    const logs = [stack.service('buffer').logFile, buffer2.logFile].map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(logs).toContain('event parked after repeated failures');
    const healthy = await stack.request<{ state: string }>(SUBJECTS.imUnsubscribe, { channel: 'load', from: 'healthy@customers.example.test', to: other.sessionAddress });
    expect(['ended', 'abandoned']).toContain(healthy.state);
  });

  it('tells waiting customers their place from one reporting instance at a time, the other taking over when it stops', async () => {
    const metric = async (h: ServiceHandle, name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${h.httpPort}/metrics`)).text();
      return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1]);
    };
    const first = stack.service('reporting');
    // The first instance started first and holds the status lease; the second stands by.
    await until(
      async () => ((await metric(first, 'parley_status_notifier_active')) === 1 && (await metric(reporting2, 'parley_status_notifier_active')) === 0) || undefined,
      'one reporting instance telling statuses',
      30_000,
    );
    const customers = await stack.customerInbox('wait');
    const statusesOf = (sessionId: string) => customers.items.filter((d: CustomerDelivery) => d.sessionId === sessionId && d.kind === 'status');
    const wait = (n: number) => stack.request<{ sessionId: string }>(SUBJECTS.imSubscribe, { channel: 'wait', from: `waiting-${n}@customers.example.test`, to: 'wait@support.example.test' });
    const one = await wait(1);
    await until(() => statusesOf(one.sessionId).length > 0 || undefined, 'the first waiting customer told their place', 30_000);
    // Told by the holder alone: the instance standing by has told nobody anything.
    expect(await metric(first, 'parley_status_reports_total')).toBeGreaterThan(0);
    expect(await metric(reporting2, 'parley_status_reports_total')).toBe(0);
    // The holder stops: it hands the lease back and the other instance tells the next customer their place.
    expect(await first.stop()).toBe(0);
    await until(async () => (await metric(reporting2, 'parley_status_notifier_active')) === 1 || undefined, 'the other reporting instance taking the status lease', 30_000);
    const two = await wait(2);
    await until(() => statusesOf(two.sessionId).length > 0 || undefined, 'the second waiting customer told their place', 30_000);
    expect(statusesOf(two.sessionId)[0]).toMatchObject({ status: { position: 1 } });
    // Back, the first instance stands by in its turn.
    await first.start();
    expect(await metric(first, 'parley_status_notifier_active')).toBe(0);
    expect(await metric(first, 'parley_status_reports_total')).toBe(0);
  });

  it('resumes projections from their checkpoints after a restart', async () => {
    const reporting = stack.service('reporting');
    const before = await stack.request<{ position: number }>(SUBJECTS.reportingProjection, {});
    expect(before.position).toBeGreaterThan(0);
    expect(await reporting.stop()).toBe(0);
    await reporting.start();
    const lines = readFileSync(reporting.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"projection ready"'));
    const resumed = JSON.parse(lines.at(-1)!) as { resumedFrom: number; position: number };
    expect(resumed.resumedFrom).toBeGreaterThanOrEqual(before.position);
    const after = await stack.request<{ position: number }>(SUBJECTS.reportingProjection, {});
    expect(after.position).toBeGreaterThanOrEqual(before.position);
  });

  it('ends a silent conversation after asking first (the entry point idle timeout)', async () => {
    const agentId = 'ep-idle-agent';
    const inbox = await stack.agentInbox(agentId);
    inbox.onItem((d) => {
      if (d.kind === 'offer') void stack.request(SUBJECTS.agentOfferAccept, { agentId, offerId: d.offerId });
    });
    await login(agentId, ['q-idle'], 1);
    const customers = await stack.customerInbox('idle');
    const from = 'silent@customers.example.test';
    const sub = await stack.request<{ sessionId: string; sessionAddress: string }>(SUBJECTS.imSubscribe, { channel: 'idle', from, to: 'idle@support.example.test' });
    await stack.request(SUBJECTS.imMessage, { channel: 'idle', from, to: sub.sessionAddress, messageId: 'only', body: 'hello?' });
    // Assigned, then nobody writes: the agent is asked first, then the session ends with reason idle.
    const warning = await inbox.waitFor((d) => d.kind === 'system' && d.sessionId === sub.sessionId, 'the idle warning to the agent', 30_000);
    expect(warning.body).toContain('silent');
    await customers.waitFor((d: CustomerDelivery) => d.sessionId === sub.sessionId && d.kind === 'system' && d.body.includes('ended'), 'the end of the silent session', 30_000);
    const { events } = await stack.store.readStream({ aggregate: 'session', id: sub.sessionId });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['SessionIdleWarned', 'SessionEnded']));
    expect(events.at(-1)).toMatchObject({ type: 'SessionEnded', data: { endedBy: 'system', reason: 'idle' } });
  });

  it('routes again and catches its projections up after nats-server restarts (no service restarted)', async () => {
    const agentId = 'ep-after-restart';
    const inbox = await stack.agentInbox(agentId);
    await stack.nats.pause();
    await stack.nats.start();
    await until(
      async () => {
        const r = await stack
          .request<{ error?: unknown }>(SUBJECTS.agentLogin, {
            agentId,
            displayName: agentId,
            kind: 'human',
            skills: {},
            languages: ['en'],
            capacity: 2,
            capabilities: [],
            queues: ['q-idle'],
            leaseSeconds: 600,
          })
          .catch(() => ({ error: 'down' }));
        return r.error ? undefined : true;
      },
      'the agent to log in after the restart',
      30_000,
    );
    const sub = await stack.request<{ sessionId: string; status: string }>(SUBJECTS.imSubscribe, { channel: 'idle', from: 'after-restart@customers.example.test', to: 'idle@support.example.test' });
    expect(sub.status).toBe('available');
    // The router's view followed the restart: the new session is offered (to this agent or the idle test's).
    const offered = await inbox.waitFor((d) => d.kind === 'offer' && d.sessionId === sub.sessionId, 'an offer after the restart', 30_000).catch(() => undefined);
    const events = await until(async () => (await stack.store.readStream({ aggregate: 'session', id: sub.sessionId }).catch(() => undefined))?.events, 'the session stream');
    expect(offered !== undefined || events.some((e) => e.type === 'SessionOffered')).toBe(true);
    // Reporting's projection reaches the store's head.
    await until(
      async () => {
        const both = await Promise.all([stack.request<{ position: number }>(SUBJECTS.reportingProjection, {}), stack.store.headPosition()]).catch(() => undefined);
        return (both && both[0].position >= both[1] - 5) || undefined;
      },
      'reporting caught up after the restart',
      30_000,
    );
  });
});

import { Kvm } from '@nats-io/kv';
import { SUBJECTS } from '@parley/contracts';
import type { ServiceHandle } from '@parley/testing';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyStack, until } from './parley-stack.js';

const QUEUES = ['rs-q0', 'rs-q1', 'rs-q2', 'rs-q3', 'rs-q4', 'rs-q5'];
const AGENTS = 12;
const CAPACITY = 2;
const CUSTOMERS = 120;

let stack: ParleyStack;
let second: ServiceHandle;
const accepted = new Map<string, string>(); // sessionId → agentId
let driving = true;

beforeAll(async () => {
  stack = await ParleyStack.start({ QUEUE_LEASE_SECONDS: '2', OFFER_TIMEOUT_SECONDS: '10', ROUTING_TICK_MS: '100', ROUTER_INSTANCE_ID: 'router-a' });
  second = await stack.launchExtra('router', { ROUTER_INSTANCE_ID: 'router-b' });
  for (const q of QUEUES) await stack.request(SUBJECTS.registrationRegister, { entryPointId: q, address: `${q}@support.example.test`, queueId: q, leaseSeconds: 600 });
  // Desktops that accept every offer and end each conversation shortly after, so agents turn over many sessions.
  for (let i = 0; i < AGENTS; i++) {
    const agentId = `rs-agent-${i}`;
    const inbox = await stack.agentInbox(agentId);
    inbox.onItem((d) => {
      if (d.kind !== 'offer' || !driving) return;
      stack
        .request<{ sessionId?: string }>(SUBJECTS.agentOfferAccept, { agentId, offerId: d.offerId })
        .then((r) => {
          if (!r.sessionId) return;
          accepted.set(r.sessionId, agentId);
          setTimeout(
            () => {
              if (driving) stack.request(SUBJECTS.agentSessionEnd, { agentId, sessionId: r.sessionId, disposition: 'done' }).catch(() => undefined);
            },
            50 + Math.random() * 200,
          );
        })
        .catch(() => undefined);
    });
    await stack.request(SUBJECTS.agentLogin, {
      agentId,
      displayName: agentId,
      kind: 'human',
      skills: {},
      languages: ['en'],
      capacity: CAPACITY,
      capabilities: [],
      queues: [QUEUES[i % 6], QUEUES[(i + 1) % 6]],
      leaseSeconds: 600,
    });
  }
});

afterAll(async () => {
  driving = false;
  await stack?.stop();
});

/** The most conversations and live reservations an agent ever held, replayed from its own stream. */
async function peakLoad(agentId: string): Promise<number> {
  const { events } = await stack.store.readStream({ aggregate: 'agent', id: agentId });
  const reserved = new Set<string>();
  const talking = new Set<string>();
  let peak = 0;
  for (const e of events) {
    const d = e.data as { offerId?: string; sessionId?: string };
    if (e.type === 'AgentOfferReserved') reserved.add(d.offerId!);
    if (e.type === 'AgentOfferReleased') reserved.delete(d.offerId!);
    if (e.type === 'AgentConversationStarted') {
      reserved.delete(d.offerId!);
      talking.add(d.sessionId!);
    }
    if (e.type === 'AgentConversationEnded') talking.delete(d.sessionId!);
    peak = Math.max(peak, talking.size);
  }
  return peak;
}

const owners = async () => {
  const kv = await new Kvm(stack.nc).open('parley_router_queues');
  const result = new Map<string, string>();
  for (const q of QUEUES) {
    const e = await kv.get(`queue.${q}`);
    if (e && e.operation === 'PUT') result.set(q, e.string());
  }
  return result;
};

describe('two router instances on the same queues', () => {
  it('never double-assign under concurrent load, and share the queues', async () => {
    const sessions: string[] = [];
    for (let batch = 0; batch < CUSTOMERS / 20; batch++) {
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, k) => {
          const i = batch * 20 + k;
          return stack.request<{ sessionId: string }>(SUBJECTS.imSubscribe, { channel: 'rs', from: `rs-c${i}@customers.example.test`, to: `${QUEUES[i % 6]}@support.example.test` });
        }),
      );
      sessions.push(...replies.map((r) => r.sessionId));
    }
    await until(() => sessions.every((s) => accepted.has(s)) || undefined, `all ${CUSTOMERS} sessions accepted`, 90_000);
    for (const sessionId of sessions) {
      const { events } = await stack.store.readStream({ aggregate: 'session', id: sessionId });
      expect(
        events.filter((e) => e.type === 'SessionAssigned'),
        sessionId,
      ).toHaveLength(1);
    }
    for (let i = 0; i < AGENTS; i++) expect(await peakLoad(`rs-agent-${i}`)).toBeLessThanOrEqual(CAPACITY);
    expect(new Set((await owners()).values())).toEqual(new Set(['router-a', 'router-b']));
    for (const log of [stack.service('router').logFile, second.logFile]) expect(readFileSync(log, 'utf8')).toContain('"msg":"offered"');
  });

  it('moves the queues of a router that dies to the other within seconds', async () => {
    const before = await owners();
    const moving = QUEUES.filter((q) => before.get(q) === 'router-b');
    expect(moving.length).toBeGreaterThan(0);
    await second.kill();
    await until(
      async () => {
        const now = await owners();
        return QUEUES.every((q) => now.get(q) === 'router-a') || undefined;
      },
      'every queue owned by the surviving router',
      15_000,
    );
    // The surviving router routes a queue once it has read its new lease back (100 ms after taking it): wait for it.
    const routing = (q: string) => `"msg":"routing queue","queueId":"${q}","instanceId":"router-a"`;
    await until(() => moving.every((q) => readFileSync(stack.service('router').logFile, 'utf8').includes(routing(q))) || undefined, 'the surviving router routing the queues it took', 5_000);
    // And it routes them: a customer on every queue gets an agent.
    const replies = await Promise.all(
      QUEUES.map((q, i) => stack.request<{ sessionId: string }>(SUBJECTS.imSubscribe, { channel: 'rs', from: `rs-after-${i}@customers.example.test`, to: `${q}@support.example.test` })),
    );
    await until(() => replies.every((r) => accepted.has(r.sessionId)) || undefined, 'the customers after the failover to be accepted', 30_000);
  });
});

import { type SessionCommand, sessionAggregate } from '@parley/domain';
import type { AgentDelivery, CustomerDelivery } from '@parley/contracts';
import { CommandHandler, InMemoryEventStore } from '@parley/event-store';
import { type DeliveryPublisher, runConsumer } from '@parley/service-kit';
import { eventually } from '@parley/testing';
import { describe, expect, it } from 'vitest';
import { DeliveryProcessManager } from './delivery.process-manager.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 21, 10, 0, s)).toISOString();
const ctx = (id: string, s: number) => ({ commandId: id, metadata: { correlationId: id, at: at(s), actor: 'test' } });
const core = { sessionId: 's1', entryPointId: 'ep', channel: 'web', customerAddress: 'ann@customers.test', sessionAddress: 's-s1@acme.test', client: null, locale: 'en', openedAt: at(0) };

/** Deliveries as the publisher would store them, in order. */
class Recorded {
  readonly customer: CustomerDelivery[] = [];
  readonly agent: (AgentDelivery & { to: string })[] = [];
  async toCustomer(_channel: string, d: CustomerDelivery) {
    this.customer.push(d);
  }
  async toAgent(agentId: string, d: AgentDelivery) {
    this.agent.push({ ...d, to: agentId });
  }
}

const until = (probe: () => boolean, what: string) => eventually(probe, (x) => x, what);

/** An in-memory store that counts its stream reads (the process manager should need none). */
function countingReads() {
  const store = new InMemoryEventStore();
  const reads = { count: 0 };
  const readStream = store.readStream.bind(store);
  store.readStream = (s) => {
    reads.count++;
    return readStream(s);
  };
  return { store, reads };
}

describe('buffer delivery process manager (in-memory store)', () => {
  it('delivers the backlog in order on accept, relays both ways with the agent name, ends on both sides, and reads no stream', async () => {
    const { store, reads } = countingReads();
    const deliveries = new Recorded();
    const consumption = await runConsumer(store, new DeliveryProcessManager(deliveries as unknown as DeliveryPublisher));
    const commands = new CommandHandler(store);
    const session = sessionAggregate.stream('s1');
    const run = (c: SessionCommand, id: string, s: number) => commands.handle(session, c, ctx(id, s), { isNew: c.kind === 'open' });
    await run({ kind: 'open', core, route: { queueId: 'q', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } }, intake: null, notBefore: null }, 'open', 0);
    for (const n of [1, 2]) await run({ kind: 'receive-customer-message', channel: 'web', from: core.customerAddress, messageId: `m${n}`, body: `waiting ${n}`, now: at(n) }, `m${n}`, n);
    await run({ kind: 'offer', offerId: 'o1', agentId: 'alex', expiresAt: at(60), now: at(3) }, 'offer', 3);
    await run({ kind: 'accept-offer', offerId: 'o1', agentId: 'alex', agentName: 'Alex', now: at(4) }, 'accept', 4);
    await until(() => deliveries.agent.length === 2, 'the backlog');
    expect(deliveries.agent.map((d) => [d.to, d.body, d.author, d.from])).toEqual([
      ['alex', 'waiting 1', 'customer', 's-s1@acme.test'],
      ['alex', 'waiting 2', 'customer', 's-s1@acme.test'],
    ]);
    await run({ kind: 'receive-customer-message', channel: 'web', from: core.customerAddress, messageId: 'm3', body: 'hello', now: at(5) }, 'm3', 5);
    // The same message ID from the other author is another message (each author's IDs are their own).
    await run({ kind: 'send-agent-message', agentId: 'alex', messageId: 'm3', body: 'hi, Alex here', now: at(6) }, 'a3', 6);
    await until(() => deliveries.customer.length === 1 && deliveries.agent.length === 3, 'the relay');
    expect(deliveries.agent[2]).toMatchObject({ body: 'hello', author: 'customer' });
    expect(deliveries.customer[0]).toMatchObject({ kind: 'text', body: 'hi, Alex here', agentName: 'Alex', to: 'ann@customers.test', from: 's-s1@acme.test' });
    await run({ kind: 'end', endedBy: 'agent', agentId: 'alex', from: null, reason: 'done', disposition: 'solved', now: at(7) }, 'end', 7);
    await until(() => deliveries.customer.length === 2, 'the goodbye');
    expect(deliveries.customer[1]).toMatchObject({ kind: 'system' });
    // Every state came from the events consumed (the first event of the stream starts it) and, for the commands,
    // from their own appends: nothing read the stream.
    expect(reads.count).toBe(0);
    await consumption.stop();
  });

  it('retries a delivery that failed once from the state it had, without reading the stream', async () => {
    const { store, reads } = countingReads();
    const deliveries = new Recorded();
    let failures = 0;
    const flaky = {
      toAgent: async (agentId: string, d: AgentDelivery) => {
        if (d.body === 'flaky' && failures++ === 0) throw new Error('nats-server node lost');
        return deliveries.toAgent(agentId, d);
      },
      toCustomer: deliveries.toCustomer.bind(deliveries),
    };
    const consumption = await runConsumer(store, new DeliveryProcessManager(flaky as unknown as DeliveryPublisher));
    const commands = new CommandHandler(store);
    const session = sessionAggregate.stream('s1');
    const run = (c: SessionCommand, id: string, s: number) => commands.handle(session, c, ctx(id, s), { isNew: c.kind === 'open' });
    await run({ kind: 'open', core, route: { queueId: 'q', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } }, intake: null, notBefore: null }, 'open', 0);
    await run({ kind: 'offer', offerId: 'o1', agentId: 'alex', expiresAt: at(60), now: at(1) }, 'offer', 1);
    await run({ kind: 'accept-offer', offerId: 'o1', agentId: 'alex', agentName: 'Alex', now: at(2) }, 'accept', 2);
    await run({ kind: 'receive-customer-message', channel: 'web', from: core.customerAddress, messageId: 'm1', body: 'flaky', now: at(3) }, 'm1', 3);
    await run({ kind: 'receive-customer-message', channel: 'web', from: core.customerAddress, messageId: 'm2', body: 'after', now: at(4) }, 'm2', 4);
    await until(() => deliveries.agent.length === 2, 'both messages after the retry');
    expect(failures).toBe(2);
    expect(deliveries.agent.map((d) => d.body)).toEqual(['flaky', 'after']);
    expect(reads.count).toBe(0);
    await consumption.stop();
  });

  it('parks an event whose delivery keeps failing and goes on with the others', async () => {
    const store = new InMemoryEventStore();
    const deliveries = new Recorded();
    const failing = {
      ...deliveries,
      toAgent: async (agentId: string, d: AgentDelivery) => {
        if (d.body === 'poison') throw new Error('cannot deliver this');
        return deliveries.toAgent(agentId, d);
      },
      toCustomer: deliveries.toCustomer.bind(deliveries),
    };
    const parked: string[] = [];
    const consumption = await runConsumer(store, new DeliveryProcessManager(failing as unknown as DeliveryPublisher), { maxAttempts: 3, park: async (p) => void parked.push(p.event.type) });
    const commands = new CommandHandler(store);
    const session = sessionAggregate.stream('s1');
    await commands.handle(
      session,
      { kind: 'open', core, route: { queueId: 'q', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } }, intake: null, notBefore: null },
      ctx('open', 0),
    );
    await commands.handle(session, { kind: 'offer', offerId: 'o1', agentId: 'alex', expiresAt: at(60), now: at(1) }, ctx('offer', 1));
    await commands.handle(session, { kind: 'accept-offer', offerId: 'o1', agentId: 'alex', now: at(2) }, ctx('accept', 2));
    await commands.handle(session, { kind: 'receive-customer-message', channel: 'web', from: core.customerAddress, messageId: 'p', body: 'poison', now: at(3) }, ctx('p', 3));
    await commands.handle(session, { kind: 'receive-customer-message', channel: 'web', from: core.customerAddress, messageId: 'ok', body: 'fine', now: at(4) }, ctx('ok', 4));
    await until(() => deliveries.agent.length === 1, 'the next message after the poison');
    expect(parked).toEqual(['CustomerMessageReceived']);
    expect(deliveries.agent[0]).toMatchObject({ body: 'fine' });
    await consumption.stop();
  });
});

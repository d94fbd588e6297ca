import type { CustomerDelivery, StatusReportRequest } from '@parley/contracts';
import { type SessionCommand, sessionAggregate } from '@parley/domain';
import { CommandHandler, InMemoryEventStore } from '@parley/event-store';
import type { DeliveryPublisher } from '@parley/service-kit';
import { describe, expect, it } from 'vitest';
import { ConversationHandler } from './conversation.handler.js';
import { DeliveryProcessManager } from './delivery.process-manager.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 21, 10, 0, s)).toISOString();
const ctx = (id: string, s: number) => ({ commandId: id, metadata: { correlationId: id, at: at(s), actor: 'test' } });
const core = { sessionId: 's1', entryPointId: 'ep', channel: 'web', customerAddress: 'ann@customers.test', sessionAddress: 's-s1@acme.test', client: null, locale: 'en', openedAt: at(0) };

class Recorded {
  readonly customer: CustomerDelivery[] = [];
  async toCustomer(_channel: string, d: CustomerDelivery) {
    this.customer.push(d);
  }
  async toAgent() {}
}

const status = (statusId: string): StatusReportRequest => Object.assign(new (class {})() as StatusReportRequest, { sessionId: 's1', statusId, position: 0, estimatedWaitSeconds: 30 });

describe('buffer status reports (in-memory store)', () => {
  it('tells a transferred customer of the transfer before their first position, under the follow-up’s own delivery ID', async () => {
    const store = new InMemoryEventStore();
    const commands = new CommandHandler(store);
    const deliveries = new Recorded();
    const publisher = deliveries as unknown as DeliveryPublisher;
    // The deliveries follow-up is not running: it has not told the customer of the transfer yet.
    const handler = new ConversationHandler(commands, publisher, new DeliveryProcessManager(publisher));
    const session = sessionAggregate.stream('s1');
    const run = (c: SessionCommand, id: string, s: number) => commands.handle(session, c, ctx(id, s), { isNew: c.kind === 'open' });
    await run({ kind: 'open', core, route: { queueId: 'q', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } }, intake: null, notBefore: null }, 'open', 0);
    await run({ kind: 'offer', offerId: 'o1', agentId: 'alex', expiresAt: at(60), now: at(1) }, 'offer', 1);
    await run({ kind: 'accept-offer', offerId: 'o1', agentId: 'alex', agentName: 'Alex', now: at(2) }, 'accept', 2);

    await run({ kind: 'transfer', agentId: 'alex', toQueueId: 'q2', toAgentId: null, reason: null, now: at(10) }, 'transfer', 10);
    const transfer = (await store.readStream({ aggregate: 'session', id: 's1' })).events.find((e) => e.type === 'SessionTransferred')!;

    expect(await handler.status(status('st-1'), { subject: 'test', now: at(11) })).toEqual({ delivered: true });
    expect(deliveries.customer.map((d) => [d.deliveryId, d.kind])).toEqual([
      [`${transfer.id}.customer`, 'system'],
      ['st-1', 'status'],
    ]);
    expect(deliveries.customer[0]!.body).toMatch(/transferred to another agent/);

    // A minute on, the follow-up has long told them: the status goes alone.
    expect(await handler.status(status('st-2'), { subject: 'test', now: at(75) })).toEqual({ delivered: true });
    expect(deliveries.customer.slice(2).map((d) => d.deliveryId)).toEqual(['st-2']);
  });

  it('sends a status alone to a customer who was never transferred', async () => {
    const store = new InMemoryEventStore();
    const commands = new CommandHandler(store);
    const deliveries = new Recorded();
    const publisher = deliveries as unknown as DeliveryPublisher;
    const handler = new ConversationHandler(commands, publisher, new DeliveryProcessManager(publisher));
    await commands.handle(
      sessionAggregate.stream('s1'),
      { kind: 'open', core, route: { queueId: 'q', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } }, intake: null, notBefore: null },
      ctx('open', 0),
      { isNew: true },
    );
    expect(await handler.status(status('st-1'), { subject: 'test', now: at(1) })).toEqual({ delivered: true });
    expect(deliveries.customer.map((d) => d.deliveryId)).toEqual(['st-1']);
  });
});

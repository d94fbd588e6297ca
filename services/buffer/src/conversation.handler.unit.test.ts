import type { CustomerDelivery, StatusReportRequest } from '@parley/contracts';
import { type SessionCommand, sessionAggregate } from '@parley/domain';
import { CommandHandler, InMemoryEventStore, type StreamId } from '@parley/event-store';
import type { DeliveryPublisher } from '@parley/service-kit';
import { describe, expect, it } from 'vitest';
import { type ConsumerProgress, ConversationHandler } from './conversation.handler.js';
import { DELIVERIES_CONSUMER } from './delivery.process-manager.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 21, 10, 0, s)).toISOString();
const ctx = (id: string, s: number) => ({ commandId: id, metadata: { correlationId: id, at: at(s), actor: 'test' } });
const core = { sessionId: 's1', entryPointId: 'ep', channel: 'web', customerAddress: 'ann@customers.test', sessionAddress: 's-s1@acme.test', client: null, locale: 'en', openedAt: at(0) };
const route = { queueId: 'q', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } };

class Recorded {
  readonly customer: CustomerDelivery[] = [];
  async toCustomer(_channel: string, d: CustomerDelivery) {
    this.customer.push(d);
  }
  async toAgent() {}
}

/** The deliveries' follow-up, as far as the test says it got. */
class Progress implements ConsumerProgress {
  through = 0;
  readonly asked: [string, StreamId][] = [];
  async handledThrough(consumer: string, stream: StreamId) {
    this.asked.push([consumer, stream]);
    return this.through;
  }
}

const status = (statusId: string) => ({ sessionId: 's1', statusId, position: 0, estimatedWaitSeconds: 30 }) as StatusReportRequest;

function setUp() {
  const store = new InMemoryEventStore();
  const commands = new CommandHandler(store);
  const deliveries = new Recorded();
  const progress = new Progress();
  const handler = new ConversationHandler(commands, deliveries as unknown as DeliveryPublisher, progress);
  const run = (c: SessionCommand, id: string, s: number) => commands.handle(sessionAggregate.stream('s1'), c, ctx(id, s), { isNew: c.kind === 'open' });
  return { store, deliveries, progress, handler, run };
}

describe('buffer status reports (in-memory store)', () => {
  it('holds a transferred customer’s position back until the deliveries’ follow-up has handled the transfer', async () => {
    const { store, deliveries, progress, handler, run } = setUp();
    await run({ kind: 'open', core, route, intake: null, notBefore: null }, 'open', 0);
    await run({ kind: 'offer', offerId: 'o1', agentId: 'alex', expiresAt: at(60), now: at(1) }, 'offer', 1);
    await run({ kind: 'accept-offer', offerId: 'o1', agentId: 'alex', agentName: 'Alex', now: at(2) }, 'accept', 2);
    await run({ kind: 'send-agent-message', agentId: 'alex', messageId: 'a1', body: 'A colleague will take over.', now: at(9) }, 'a1', 9);
    await run({ kind: 'transfer', agentId: 'alex', toQueueId: 'q2', toAgentId: null, reason: null, now: at(10) }, 'transfer', 10);
    const { version } = await store.readStream({ aggregate: 'session', id: 's1' });

    // The follow-up is still on the agent's last message: the position would overtake it and the notice.
    progress.through = version - 1;
    expect(await handler.status(status('st-1'), { subject: 'test', now: at(11) })).toEqual({ delivered: false });
    expect(deliveries.customer).toEqual([]);
    expect(progress.asked).toEqual([[DELIVERIES_CONSUMER, { aggregate: 'session', id: 's1' }]]);

    // It has handled the transfer: the position goes (reporting asks again on its next pass).
    progress.through = version;
    expect(await handler.status(status('st-2'), { subject: 'test', now: at(12) })).toEqual({ delivered: true });
    expect(deliveries.customer.map((d) => [d.deliveryId, d.kind])).toEqual([['st-2', 'status']]);

    // A minute on, a follow-up that is still behind (stuck) no longer holds statuses back, and is not asked.
    progress.through = 0;
    expect(await handler.status(status('st-3'), { subject: 'test', now: at(75) })).toEqual({ delivered: true });
    expect(progress.asked).toHaveLength(2);
  });

  it('sends a never-transferred customer’s status without asking how far the follow-up got', async () => {
    const { deliveries, progress, handler, run } = setUp();
    await run({ kind: 'open', core, route, intake: null, notBefore: null }, 'open', 0);
    expect(await handler.status(status('st-1'), { subject: 'test', now: at(1) })).toEqual({ delivered: true });
    expect(deliveries.customer.map((d) => d.deliveryId)).toEqual(['st-1']);
    expect(progress.asked).toEqual([]);
  });

  it('tells nothing to a customer another service has assigned since this instance last saw the session queued (an instance standing by follows no events)', async () => {
    const { store, deliveries, handler, run } = setUp();
    await run({ kind: 'open', core, route, intake: null, notBefore: null }, 'open', 0);
    expect(await handler.status(status('st-1'), { subject: 'test', now: at(1) })).toEqual({ delivered: true });
    // The router offers and the agent accepts, on its own command handler: this one's memory still says queued.
    const router = new CommandHandler(store);
    await router.handle(sessionAggregate.stream('s1'), { kind: 'offer', offerId: 'o1', agentId: 'alex', expiresAt: at(60), now: at(2) }, ctx('offer', 2));
    await router.handle(sessionAggregate.stream('s1'), { kind: 'accept-offer', offerId: 'o1', agentId: 'alex', agentName: 'Alex', now: at(3) }, ctx('accept', 3));
    expect(await handler.status(status('st-2'), { subject: 'test', now: at(4) })).toEqual({ delivered: false });
    expect(deliveries.customer.map((d) => d.deliveryId)).toEqual(['st-1']);
  });
});

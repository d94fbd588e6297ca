import { SUBJECTS } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyStack, SERVICES, type ServiceName, until } from './parley-stack.js';

let stack: ParleyStack;

beforeAll(async () => {
  stack = await ParleyStack.start({ OFFER_TIMEOUT_SECONDS: '30', ROUTING_TICK_MS: '100' });
});

afterAll(async () => {
  await stack?.stop();
});

/** A gateway's way of sending: retry with the same message ID until Parley accepts it. */
async function sendUntilAccepted(subject: string, payload: Record<string, unknown>): Promise<unknown> {
  return until(
    async () => {
      try {
        const reply = (await stack.nc.request(subject, JSON.stringify(payload), { timeout: 1_000 })).json<Record<string, unknown>>();
        return 'error' in reply ? undefined : reply;
      } catch {
        return undefined; // no responders or timeout while the service restarts
      }
    },
    `acceptance of ${subject}`,
    30_000,
  );
}

describe('a crash of any one service in the middle of a conversation', () => {
  it.each(SERVICES.map((s) => [s]))('loses nothing and assigns nothing twice when %s is killed with SIGKILL', async (victim: ServiceName) => {
    const queueId = `crash-${victim}`;
    const channel = `chan-${victim.replace(/[^a-z]/g, '')}`;
    const address = `crash-${victim}@support.example.test`;
    await stack.request(SUBJECTS.registrationRegister, { entryPointId: `ep-${victim}`, address, queueId, leaseSeconds: 600 });
    const agentId = `agent-${victim}`;
    const agentInbox = await stack.agentInbox(agentId);
    const customerInbox = await stack.customerInbox(channel);
    await stack.request(SUBJECTS.agentLogin, { agentId, displayName: 'Ada', kind: 'human', skills: {}, languages: ['en'], capacity: 2, capabilities: [], queues: [queueId], leaseSeconds: 600 });
    const from = `${victim}-customer@customers.example.test`;
    const sub = (await sendUntilAccepted(SUBJECTS.imSubscribe, { channel, from, to: address })) as { sessionId: string; sessionAddress: string };
    const offer = await agentInbox.waitFor((d) => d.kind === 'offer', 'the offer');
    await sendUntilAccepted(SUBJECTS.agentOfferAccept, { agentId, offerId: offer.offerId });

    const customerSays = Array.from({ length: 12 }, (_, i) => `customer line ${i}`);
    const agentSays = Array.from({ length: 12 }, (_, i) => `agent line ${i}`);
    const sending = (async () => {
      for (let i = 0; i < customerSays.length; i++) {
        await sendUntilAccepted(SUBJECTS.imMessage, { messageId: `c-${victim}-${i}`, channel, from, to: sub.sessionAddress, body: customerSays[i] });
        await sendUntilAccepted(SUBJECTS.agentMessage, { agentId, sessionId: sub.sessionId, messageId: `a-${victim}-${i}`, body: agentSays[i] });
      }
    })();
    // Kill the victim once the conversation is under way, then bring it back.
    await until(() => agentInbox.items.filter((d) => d.kind === 'message').length >= 3 || undefined, 'the conversation to be under way');
    await stack.service(victim).kill();
    await stack.service(victim).start();
    await sending;

    await until(() => new Set(agentInbox.items.filter((d) => d.kind === 'message').map((d) => d.body)).size === customerSays.length || undefined, 'every customer line at the agent');
    await until(() => new Set(customerInbox.items.filter((d) => d.kind === 'text').map((d) => d.body)).size === agentSays.length || undefined, 'every agent line at the customer');
    const atAgent = agentInbox.items.filter((d) => d.kind === 'message');
    const atCustomer = customerInbox.items.filter((d) => d.kind === 'text');
    // In order, and any repeat after the crash carries the delivery ID of the first, so a desktop can drop it.
    const firstSeen = (items: { body?: string; deliveryId: string }[]) => {
      const byBody = new Map<string, string>();
      for (const d of items) {
        if (byBody.has(d.body!)) expect(d.deliveryId).toBe(byBody.get(d.body!));
        else byBody.set(d.body!, d.deliveryId);
      }
      return [...byBody.keys()];
    };
    expect(firstSeen(atAgent)).toEqual(customerSays);
    expect(firstSeen(atCustomer)).toEqual(agentSays);
    const { events } = await stack.store.readStream({ aggregate: 'session', id: sub.sessionId });
    expect(events.filter((e) => e.type === 'SessionAssigned')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'CustomerMessageReceived')).toHaveLength(customerSays.length);
    expect(events.filter((e) => e.type === 'AgentMessageSent')).toHaveLength(agentSays.length);
    const agentEvents = (await stack.store.readStream({ aggregate: 'agent', id: agentId })).events;
    expect(agentEvents.filter((e) => e.type === 'AgentConversationStarted')).toHaveLength(1);
    expect(agentInbox.items.filter((d) => d.kind === 'offer').map((d) => d.offerId)).toEqual([offer.offerId]);
  });
});

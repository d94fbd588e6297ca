import type { NatsConnection } from '@nats-io/transport-node';
import type { CenterSettings } from '@parley/center-config';
import { type SessionCore, sessionAggregate } from '@parley/domain';
import { CommandHandler, InMemoryEventStore } from '@parley/event-store';
import { describe, expect, it } from 'vitest';
import type { CustomerSessionsIndex } from './customer-sessions.index.js';
import type { PresenceProxyConfig } from './presence-proxy.config.js';
import { SubscribeHandler } from './subscribe.handler.js';

const NOW = '2026-11-21T10:00:00.000Z';
const core: SessionCore = {
  sessionId: 'half-open',
  entryPointId: 'ep',
  channel: 'web',
  customerAddress: 'ann@example.test',
  sessionAddress: 's-half-open@support.example.test',
  client: null,
  locale: null,
  customerId: null,
  openedAt: '2026-11-21T09:59:00.000Z',
};

describe('subscribe', () => {
  it("finishes an earlier open that stored only SessionOpened (its connection dropped), so the customer's retry leaves the session queued", async () => {
    const store = new InMemoryEventStore();
    const stream = sessionAggregate.stream(core.sessionId);
    const stored = { aggregate: 'session', id: core.sessionId };
    await store.append(
      stored,
      [{ id: 'e1', type: 'SessionOpened', schemaVersion: 1, data: core, metadata: { correlationId: 'c', causationId: 'c', at: core.openedAt, actor: 'customer' } }],
      'no-stream',
    );
    const commands = new CommandHandler(store);
    const index = { key: () => 'k', claim: async () => ({ outcome: 'taken', sessionId: core.sessionId, revision: 1 }) } as unknown as CustomerSessionsIndex;
    const center = { flowFor: () => undefined, capabilityRules: [] } as unknown as CenterSettings;
    const handler = new SubscribeHandler({} as NatsConnection, {} as PresenceProxyConfig, center, commands, index);
    // Registration's answer, as the lookup would get it.
    (handler as unknown as { lookup: () => Promise<unknown> }).lookup = async () => ({ registered: true, open: true, entryPointId: 'ep', queueId: 'q' });

    const reply = await handler.subscribe({ channel: 'web', from: core.customerAddress, to: 'support@example.test' } as never, { now: NOW } as never);

    expect(reply).toEqual({ status: 'available', sessionId: core.sessionId, sessionAddress: core.sessionAddress });
    const { state } = await new CommandHandler(store).load(stream);
    expect(state).toMatchObject({ status: 'queued', place: { queueId: 'q', arrivedAt: core.openedAt } });
    // A second retry writes nothing more.
    await handler.subscribe({ channel: 'web', from: core.customerAddress, to: 'support@example.test' } as never, { now: NOW } as never);
    expect((await store.readStream(stored)).events.map((e) => e.type)).toEqual(['SessionOpened', 'SessionQueued']);
  });
});

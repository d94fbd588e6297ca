import type { NatsConnection } from '@nats-io/transport-node';
import type { CenterSettings } from '@parley/center-config';
import { type SessionCore, sessionAggregate } from '@parley/domain';
import { CommandHandler, InMemoryEventStore } from '@parley/event-store';
import { describe, expect, it } from 'vitest';
import type { CustomerSessionsIndex } from './customer-sessions.index.js';
import type { PresenceProxyConfig } from './presence-proxy.config.js';
import { SessionLookupHandler } from './session-lookup.handler.js';
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

  /** A session presence-proxy opened (and so remembers as queued) that another service has ended since. */
  async function endedElsewhere() {
    const store = new InMemoryEventStore();
    const stream = sessionAggregate.stream(core.sessionId);
    const ctx = (id: string) => ({ commandId: id, metadata: { correlationId: id, at: NOW, actor: 'customer' } });
    const route = { queueId: 'q', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } };
    const commands = new CommandHandler(store);
    await commands.handle(stream, { kind: 'open', route, intake: null, notBefore: null, core }, ctx('open'));
    // Another service (here a second handler on the same store) ends it; presence-proxy has not consumed that yet.
    await new CommandHandler(store).handle(
      stream,
      { kind: 'end', endedBy: 'customer', agentId: null, from: core.customerAddress, channel: 'web', reason: 'customer left', disposition: null, now: NOW },
      ctx('end'),
    );
    expect((await commands.load(stream)).state.status).toBe('queued');
    let claims = 0;
    const index = {
      key: () => 'k',
      current: async () => core.sessionId,
      claim: async () => (claims++ === 0 ? { outcome: 'taken', sessionId: core.sessionId, revision: 1 } : { outcome: 'claimed' }),
      replace: async () => true,
    } as unknown as CustomerSessionsIndex;
    const registration = { registered: true, open: true, entryPointId: 'ep', queueId: 'q' };
    const nc = { request: async () => ({ string: () => JSON.stringify(registration) }) } as unknown as NatsConnection;
    return { commands, index, registration, nc };
  }

  it('opens a new session for a customer who starts again just after another service ended theirs', async () => {
    const { commands, index, registration, nc } = await endedElsewhere();
    const center = { flowFor: () => undefined, capabilityRules: [] } as unknown as CenterSettings;
    const handler = new SubscribeHandler(nc, { QUEUE_STATS_TIMEOUT_MS: 1000 } as PresenceProxyConfig, center, commands, index);
    (handler as unknown as { lookup: () => Promise<unknown> }).lookup = async () => registration;
    (handler as unknown as { overloaded: () => Promise<unknown> }).overloaded = async () => null;
    const reply = await handler.subscribe({ channel: 'web', from: core.customerAddress, to: 'support@example.test' } as never, { now: NOW } as never);
    expect(reply).toMatchObject({ status: 'available' });
    expect((reply as { sessionId: string }).sessionId).not.toBe(core.sessionId);
  });

  it('says no session is open on a logout just after another service ended it', async () => {
    const { commands, index, nc } = await endedElsewhere();
    const lookup = new SessionLookupHandler(nc, { LOOKUP_TIMEOUT_MS: 1000 } as PresenceProxyConfig, commands, index);
    expect(await lookup.lookup({ channel: 'web', from: core.customerAddress, to: 'support@example.test' } as never)).toEqual({ open: false });
  });
});

import { type SessionCommand, sessionAggregate } from '@parley/domain';
import { CommandHandler, InMemoryEventStore } from '@parley/event-store';
import { describe, expect, it } from 'vitest';
import { type Conversation, conversationView } from './conversation.view.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 22, 10, 0, s)).toISOString();
const ctx = (id: string, s: number) => ({ commandId: id, metadata: { correlationId: id, at: at(s), actor: 'test' } });
const core = { sessionId: 's1', entryPointId: 'ep', channel: 'web', customerAddress: 'ann@customers.test', sessionAddress: 's-s1@acme.test', client: null, locale: 'en', openedAt: at(0) };

describe('conversation view', () => {
  it('keeps the transcript while an agent may still take the session, and lets it go when the session ends', async () => {
    const store = new InMemoryEventStore();
    const commands = new CommandHandler(store);
    const session = sessionAggregate.stream('s1');
    const run = (c: SessionCommand, id: string, s: number) => commands.handle(session, c, ctx(id, s), { isNew: c.kind === 'open' });
    const fold = async (): Promise<Conversation> => {
      let state = conversationView.initialState();
      for (const e of (await store.readStream({ aggregate: 'session', id: 's1' })).events) state = conversationView.evolve(state, { type: e.type, data: e.data } as never, e);
      return state;
    };
    await run({ kind: 'open', core, route: { queueId: 'q', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } }, intake: null, notBefore: null }, 'open', 0);
    for (const n of [1, 2]) await run({ kind: 'receive-customer-message', channel: 'web', from: core.customerAddress, messageId: `m${n}`, body: `waiting ${n}`, now: at(n) }, `m${n}`, n);
    expect((await fold()).lines.map((l) => [l.author, l.body])).toEqual([
      ['customer', 'waiting 1'],
      ['customer', 'waiting 2'],
    ]);
    await run({ kind: 'end', endedBy: 'customer', agentId: null, from: core.customerAddress, channel: 'web', reason: 'left', disposition: null, now: at(3) }, 'end', 3);
    const ended = await fold();
    expect(ended.session.status).toBe('ended');
    expect(ended.lines).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { CommandHandler, type Decider } from './command-handler.js';
import { InMemoryEventStore } from './in-memory-event-store.adapter.js';

type Ev = { type: 'Said'; data: { n: number } };
const log: Decider<number[], { n: number }, Ev> = {
  initialState: () => [],
  decide: (c) => [{ type: 'Said', data: { n: c.n } }],
  evolve: (s, e) => [...s, e.data.n],
};
const ctx = (id: string) => ({ commandId: id, metadata: { correlationId: id, at: '2026-11-21T10:00:00.000Z', actor: 'test' } });

describe('command handler', () => {
  it('runs a burst of commands on one stream in arrival order, none lost to conflicts', async () => {
    const store = new InMemoryEventStore();
    const handler = new CommandHandler(store);
    await Promise.all(Array.from({ length: 50 }, (_, n) => handler.handle(log, { aggregate: 'session', id: 's' }, { n }, ctx(`c${n}`))));
    const { events } = await store.readStream({ aggregate: 'session', id: 's' });
    expect(events.map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: 50 }, (_, n) => n));
  });

  it('retries a conflict with another writer and gives up with the conflict error after its attempts', async () => {
    const store = new InMemoryEventStore();
    const handler = new CommandHandler(store, { maxAttempts: 3 });
    let appends = 0;
    // A store whose every append finds a newer version: another process always wins.
    const contested = Object.create(store) as InMemoryEventStore;
    contested.append = async (stream, events) => {
      appends++;
      await store.append(stream, [{ ...events[0]!, id: `other-${appends}` }], 'any');
      return store.append(stream, events, 0);
    };
    const loser = new CommandHandler(contested, { maxAttempts: 3 });
    await expect(loser.handle(log, { aggregate: 'session', id: 'x' }, { n: 1 }, ctx('lost'))).rejects.toMatchObject({ code: 'conflict' });
    expect(appends).toBe(3);
    await handler.handle(log, { aggregate: 'session', id: 'y' }, { n: 2 }, ctx('won'));
    expect((await store.readStream({ aggregate: 'session', id: 'y' })).events).toHaveLength(1);
  });
});

import { describe, expect, it } from 'vitest';
import { defineAggregate } from '@parley/domain';
import { CommandHandler, type Decider } from './command-handler.js';
import { VersionConflictError } from './event-store.port.js';
import { InMemoryEventStore } from './in-memory-event-store.adapter.js';

type Ev = { type: 'Said'; data: { n: number } };
const log: Decider<number[], { n: number }, Ev> = {
  initialState: () => [],
  decide: (c) => [{ type: 'Said', data: { n: c.n } }],
  evolve: (s, e) => [...s, e.data.n],
};
const said = defineAggregate('session', log);
const ctx = (id: string) => ({ commandId: id, metadata: { correlationId: id, at: '2026-11-21T10:00:00.000Z', actor: 'test' } });

describe('command handler', () => {
  it('runs a burst of commands on one stream in arrival order, none lost to conflicts', async () => {
    const store = new InMemoryEventStore();
    const handler = new CommandHandler(store);
    await Promise.all(Array.from({ length: 50 }, (_, n) => handler.handle(said.stream('s'), { n }, ctx(`c${n}`))));
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
    await expect(loser.handle(said.stream('x'), { n: 1 }, ctx('lost'))).rejects.toMatchObject({ code: 'conflict' });
    expect(appends).toBe(3);
    await handler.handle(said.stream('y'), { n: 2 }, ctx('won'));
    expect((await store.readStream({ aggregate: 'session', id: 'y' })).events).toHaveLength(1);
  });

  it('writes atVersion only on the stream as it was then: a stream moved before or during the write is a conflict, not retried', async () => {
    const store = new InMemoryEventStore();
    const handler = new CommandHandler(store);
    const { version } = await handler.handle(said.stream('v'), { n: 1 }, ctx('v1'));
    expect((await handler.handle(said.stream('v'), { n: 2 }, ctx('v2'), { atVersion: version })).version).toBe(version + 1);
    // Moved since (by this process or another): refused before writing.
    await expect(handler.handle(said.stream('v'), { n: 3 }, ctx('v3'), { atVersion: version })).rejects.toBeInstanceOf(VersionConflictError);
    // Moved by another process that this one has not seen: the append's own check refuses, and it is not retried.
    await new CommandHandler(store).handle(said.stream('v'), { n: 4 }, ctx('v4'));
    await expect(handler.handle(said.stream('v'), { n: 5 }, ctx('v5'), { atVersion: version + 1 })).rejects.toBeInstanceOf(VersionConflictError);
    const { events } = await store.readStream({ aggregate: 'session', id: 'v' });
    expect(events.map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 4]);
  });

  it('decides from the state it knows, reads only on a miss, and follows other writers through the events it observes', async () => {
    const store = new InMemoryEventStore();
    const reads = { count: 0 };
    const counted = Object.create(store) as InMemoryEventStore;
    counted.readStream = (stream) => {
      reads.count++;
      return store.readStream(stream);
    };
    const handler = new CommandHandler(counted);
    await handler.handle(said.stream('k'), { n: 1 }, ctx('k1'));
    expect(reads.count).toBe(1); // the first use of a stream reads it
    await handler.handle(said.stream('k'), { n: 2 }, ctx('k2'));
    await handler.handle(said.stream('k'), { n: 3 }, ctx('k3'));
    expect(reads.count).toBe(1); // then its own appends keep the state
    // Another process writes; this one sees the event (as a consumer would) and stays current without a read.
    const other = new CommandHandler(store);
    await other.handle(said.stream('k'), { n: 4 }, ctx('k4'));
    const all = [];
    for await (const e of store.readAll({ fromPosition: 1 })) all.push(e);
    handler.observe(all.at(-1)!);
    const { state } = await handler.handle(said.stream('k'), { n: 5 }, ctx('k5'));
    expect(state).toEqual([1, 2, 3, 4, 5]);
    expect(reads.count).toBe(1);
    expect(handler.cacheStats.conflicts).toBe(0);
    // An event it did not see: the next command conflicts once, reads, and still lands in order.
    await other.handle(said.stream('k'), { n: 6 }, ctx('k6'));
    const after = await handler.handle(said.stream('k'), { n: 7 }, ctx('k7'));
    expect(after.state).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(handler.cacheStats.conflicts).toBe(1);
  });

  it('keeps what it knows when an append fails for another reason than a conflict (no read on the retry), and still conflicts if it had landed', async () => {
    const store = new InMemoryEventStore();
    let reads = 0;
    let failNext: 'before' | 'after' | null = null;
    const flaky = Object.create(store) as InMemoryEventStore;
    flaky.readStream = (stream) => {
      reads++;
      return store.readStream(stream);
    };
    flaky.append = async (stream, events, expected) => {
      const mode = failNext;
      failNext = null;
      if (mode === 'before') throw new Error('connection dropped before the append');
      const result = await store.append(stream, events, expected);
      if (mode === 'after') throw new Error('acknowledgement lost after the append');
      return result;
    };
    const handler = new CommandHandler(flaky);
    await handler.handle(said.stream('f'), { n: 1 }, ctx('f1'));
    expect(reads).toBe(1);
    failNext = 'before';
    await expect(handler.handle(said.stream('f'), { n: 2 }, ctx('f2'))).rejects.toThrow('connection dropped');
    await handler.handle(said.stream('f'), { n: 2 }, ctx('f2-again'));
    expect(reads).toBe(1); // the failure did not cost a read
    // An append that landed though its caller heard a failure: the state kept is one behind, so the next
    // command's expected version conflicts, reads, and lands after it.
    failNext = 'after';
    await expect(handler.handle(said.stream('f'), { n: 3 }, ctx('f3'))).rejects.toThrow('acknowledgement lost');
    const { state } = await handler.handle(said.stream('f'), { n: 4 }, ctx('f4'));
    expect(state).toEqual([1, 2, 3, 4]);
    expect(handler.cacheStats.conflicts).toBe(1);
  });

  it('opens a new stream without reading it, and falls back to a read if it was not new after all', async () => {
    const store = new InMemoryEventStore();
    const handler = new CommandHandler(store);
    const fresh = await handler.handle(said.stream('new'), { n: 1 }, ctx('n1'), { isNew: true });
    expect(fresh.state).toEqual([1]);
    const wrong = await new CommandHandler(store).handle(said.stream('new'), { n: 2 }, ctx('n2'), { isNew: true });
    expect(wrong.state).toEqual([1, 2]);
  });

  it('refuses only on the stream as it is: a refusal from a state in memory that lags is decided again on a read', async () => {
    const store = new InMemoryEventStore();
    type GateCommand = { kind: 'open' } | { kind: 'close' } | { kind: 'use' };
    const gate = defineAggregate('session', {
      initialState: () => ({ open: false }),
      decide: (c: GateCommand, s: { open: boolean }) => {
        if (c.kind === 'open') return [{ type: 'Opened', data: {} }];
        if (c.kind === 'close') return [{ type: 'Closed', data: {} }];
        if (!s.open) throw Object.assign(new Error('not open'), { code: 'forbidden' });
        return [{ type: 'Used', data: {} }];
      },
      evolve: (s: { open: boolean }, e: { type: string; data: object }) => (e.type === 'Opened' ? { open: true } : e.type === 'Closed' ? { open: false } : s),
    });
    let reads = 0;
    const counted = Object.create(store) as InMemoryEventStore;
    counted.readStream = (stream) => {
      reads++;
      return store.readStream(stream);
    };
    const here = new CommandHandler(counted);
    const elsewhere = new CommandHandler(store);
    await here.handle(gate.stream('g'), { kind: 'open' }, ctx('o1'));
    await here.handle(gate.stream('g'), { kind: 'close' }, ctx('c1')); // remembered: closed
    await elsewhere.handle(gate.stream('g'), { kind: 'open' }, ctx('o2')); // not seen here
    const before = reads;
    // `here` must not refuse on what it remembers: it reads, sees the gate open, and decides again.
    const used = await here.handle(gate.stream('g'), { kind: 'use' }, ctx('u1'));
    expect(used.events.map((e) => e.type)).toEqual(['Used']);
    expect(reads).toBe(before + 1);
    // A refusal that holds on the stream as it is stays a refusal.
    await here.handle(gate.stream('g'), { kind: 'close' }, ctx('c2'));
    await expect(here.handle(gate.stream('g'), { kind: 'use' }, ctx('u2'))).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('does nothing only on the stream as it is: "nothing to do" from a state in memory that lags is decided again on a read', async () => {
    // The agent's conversations: `end` of one not held is nothing to do (idempotent follow-ups). A rehearsal saw
    // one router decide that from memory while another had just appended the start: the agent kept the
    // conversation for good.
    const store = new InMemoryEventStore();
    type Command = { kind: 'start'; id: string } | { kind: 'end'; id: string };
    const desk = defineAggregate('agent', {
      initialState: (): string[] => [],
      decide: (c: Command, s: string[]) => {
        if (c.kind === 'start') return s.includes(c.id) ? [] : [{ type: 'Started', data: { id: c.id } }];
        return s.includes(c.id) ? [{ type: 'Ended', data: { id: c.id } }] : [];
      },
      evolve: (s: string[], e: { type: string; data: { id: string } }) => (e.type === 'Started' ? [...s, e.data.id] : s.filter((id) => id !== e.data.id)),
    });
    let versionChecks = 0;
    const counted = Object.create(store) as InMemoryEventStore;
    counted.streamVersion = (stream) => {
      versionChecks++;
      return store.streamVersion(stream);
    };
    const here = new CommandHandler(counted);
    const elsewhere = new CommandHandler(store);
    await here.handle(desk.stream('a0'), { kind: 'start', id: 's0' }, ctx('start-s0')); // remembered: [s0]
    await elsewhere.handle(desk.stream('a0'), { kind: 'start', id: 's1' }, ctx('start-s1')); // not seen here
    const ended = await here.handle(desk.stream('a0'), { kind: 'end', id: 's1' }, ctx('end-s1'));
    expect(ended.events.map((e) => e.type)).toEqual(['Ended']);
    expect((await store.readStream({ aggregate: 'agent', id: 'a0' })).events.map((e) => e.type)).toEqual(['Started', 'Started', 'Ended']);
    // Nothing to do on the stream as it is stays nothing to do, at the cost of one version check and no read.
    const checks = versionChecks;
    const again = await here.handle(desk.stream('a0'), { kind: 'end', id: 's1' }, ctx('end-s1-again'));
    expect(again.events).toEqual([]);
    expect(versionChecks).toBe(checks + 1);
  });

  it('answers a query that must not lag from memory only while the stream has not moved (verify), and reads it when another writer moved it', async () => {
    const store = new InMemoryEventStore();
    const mine = new CommandHandler(store);
    const other = new CommandHandler(store);
    await mine.handle(said.stream('q'), { n: 1 }, ctx('q1'));
    const gets: number[] = [];
    const streamVersion = store.streamVersion.bind(store);
    store.streamVersion = async (s) => {
      const v = await streamVersion(s);
      gets.push(v);
      return v;
    };
    expect(await mine.load(said.stream('q'), { verify: true })).toEqual({ state: [1], version: 1 });
    expect(gets).toEqual([1]);
    await other.handle(said.stream('q'), { n: 2 }, ctx('q2'));
    // Memory lags the other writer; a plain load says so, a verified one does not.
    expect(await mine.load(said.stream('q'))).toEqual({ state: [1], version: 1 });
    expect(await mine.load(said.stream('q'), { verify: true })).toEqual({ state: [1, 2], version: 2 });
    expect(await mine.load(said.stream('q'))).toEqual({ state: [1, 2], version: 2 });
  });
});

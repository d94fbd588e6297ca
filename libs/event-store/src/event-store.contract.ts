import { describe, expect, it } from 'vitest';
import type { EventStore, EventToAppend, StoredEvent, StreamId } from './event-store.port.js';
import { VersionConflictError } from './event-store.port.js';
import { type Projection, ProjectionRunner } from './projection-runner.js';
import { Upcasters } from './upcasters.js';
import { MemoryCheckpointStore } from './kv-checkpoint-store.js';

/** Makes a fresh, empty store; the same factory may be called many times in one suite. */
export type StoreFactory = (upcasters?: Upcasters) => Promise<EventStore>;

let seq = 0;
const ev = (type: string, data: object = {}, schemaVersion = 1): EventToAppend => ({
  id: `evt-${process.pid}-${Date.now()}-${++seq}`,
  type,
  schemaVersion,
  data,
  metadata: { correlationId: 'c-1', causationId: 'c-1', at: '2026-11-21T10:00:00.000Z', actor: 'test' },
});

const collect = async (it: AsyncIterable<StoredEvent>) => {
  const out: StoredEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
};

const until = async (check: () => boolean, what: string, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const counter: Projection<{ counts: Record<string, number>; order: string[] }> = {
  name: 'contract-counter',
  version: 1,
  initial: () => ({ counts: {}, order: [] }),
  apply: (s, e) => ({ counts: { ...s.counts, [e.type]: (s.counts[e.type] ?? 0) + 1 }, order: [...s.order, `${e.aggregateId}:${e.type}`] }),
};

/** The one contract every event-store adapter passes. */
export function describeEventStoreContract(adapter: string, makeStore: StoreFactory): void {
  describe(`event store contract: ${adapter}`, () => {
    const s1: StreamId = { aggregate: 'session', id: 'contract-a' };
    const s2: StreamId = { aggregate: 'agent', id: 'contract-b' };

    it('appends and reads a stream back in order, with the contract shape', async () => {
      const store = await makeStore();
      const { version } = await store.append(s1, [ev('SessionOpened', { n: 1 }), ev('MessageReceived', { n: 2 })], 'no-stream');
      const read = await store.readStream(s1);
      expect(read.version).toBe(version);
      expect(read.events.map((e) => [e.type, e.data])).toEqual([
        ['SessionOpened', { n: 1 }],
        ['MessageReceived', { n: 2 }],
      ]);
      expect(read.events[0]).toMatchObject({ aggregate: 'session', aggregateId: 'contract-a', schemaVersion: 1, metadata: { actor: 'test' } });
      expect(read.events[0]!.position).toBeLessThan(read.events[1]!.position);
      expect(await store.readStream({ aggregate: 'session', id: 'absent' })).toEqual({ version: 0, events: [] });
    });

    it('fails a stale expected version with the conflict error and writes nothing', async () => {
      const store = await makeStore();
      const first = await store.append(s1, [ev('A')], 'no-stream');
      await store.append(s1, [ev('B')], first.version);
      const stale = store.append(s1, [ev('C')], first.version);
      await expect(stale).rejects.toBeInstanceOf(VersionConflictError);
      const err = (await stale.catch((e: unknown) => e)) as VersionConflictError;
      expect(err.code).toBe('conflict');
      expect(err.expected).toBe(first.version);
      expect(err.actual).toBeGreaterThan(first.version);
      await expect(store.append(s1, [ev('D')], 'no-stream')).rejects.toBeInstanceOf(VersionConflictError);
      expect((await store.readStream(s1)).events.map((e) => e.type)).toEqual(['A', 'B']);
    });

    it('appends with expected version any regardless of the stream', async () => {
      const store = await makeStore();
      await store.append(s1, [ev('A')], 'any');
      await store.append(s1, [ev('B')], 'any');
      expect((await store.readStream(s1)).events).toHaveLength(2);
    });

    it('stores an event appended twice with the same ID once', async () => {
      const store = await makeStore();
      const e = ev('A');
      const a = await store.append(s1, [e], 'no-stream');
      const b = await store.append(s1, [e], 'no-stream');
      expect(b.version).toBe(a.version);
      expect((await store.readStream(s1)).events).toHaveLength(1);
      // A retried batch whose first half landed completes instead of duplicating.
      const x = ev('X');
      const y = ev('Y');
      await store.append(s1, [x], a.version);
      await store.append(s1, [x, y], a.version);
      expect((await store.readStream(s1)).events.map((e) => e.type)).toEqual(['A', 'X', 'Y']);
    });

    it('reads everything from a position, optionally by aggregate', async () => {
      const store = await makeStore();
      await store.append(s1, [ev('A')], 'any');
      await store.append(s2, [ev('B')], 'any');
      await store.append(s1, [ev('C')], 'any');
      const all = await collect(store.readAll({ fromPosition: 1 }));
      expect(all.map((e) => e.type)).toEqual(['A', 'B', 'C']);
      expect(await store.headPosition()).toBe(all[2]!.position);
      const tail = await collect(store.readAll({ fromPosition: all[1]!.position }));
      expect(tail.map((e) => e.type)).toEqual(['B', 'C']);
      const sessions = await collect(store.readAll({ fromPosition: 1, aggregate: 'session' }));
      expect(sessions.map((e) => e.type)).toEqual(['A', 'C']);
      expect(await collect(store.readAll({ fromPosition: all[2]!.position + 1 }))).toEqual([]);
    });

    it('upcasts old schema versions on read, keeping the type name', async () => {
      const upcasters = new Upcasters([
        { type: 'AgentLoggedIn', fromVersion: 1, upcast: (d) => ({ ...(d as object), languages: ['en'] }) },
        { type: 'AgentLoggedIn', fromVersion: 2, upcast: (d) => ({ ...(d as object), capacity: 1 }) },
      ]);
      const store = await makeStore(upcasters);
      await store.append(s2, [ev('AgentLoggedIn', { name: 'Ada' }, 1), ev('AgentLoggedIn', { name: 'Bo', languages: ['de'], capacity: 3 }, 3)], 'any');
      const read = await store.readStream(s2);
      expect(read.events.map((e) => [e.type, e.schemaVersion, e.data])).toEqual([
        ['AgentLoggedIn', 3, { name: 'Ada', languages: ['en'], capacity: 1 }],
        ['AgentLoggedIn', 3, { name: 'Bo', languages: ['de'], capacity: 3 }],
      ]);
      const all = await collect(store.readAll({ fromPosition: 1 }));
      expect(all[0]!.schemaVersion).toBe(3);
    });

    it('rebuilds a projection from position 1 to the same state as the live run', async () => {
      const store = await makeStore();
      const live = new ProjectionRunner(store, counter);
      await live.start();
      await store.append(s1, [ev('A'), ev('B')], 'any');
      await store.append(s2, [ev('A')], 'any');
      await store.append(s1, [ev('C')], 'any');
      const head = await store.headPosition();
      await until(() => live.position === head, 'the live projection to reach the head');
      const rebuilt = await ProjectionRunner.rebuild(store, counter);
      expect(rebuilt.state).toEqual(live.state);
      expect(rebuilt.position).toBe(live.position);
      expect(live.state.counts).toEqual({ A: 2, B: 1, C: 1 });
      await live.stop();
    });

    it('runs a durable projection idempotently by position over its checkpoint', async () => {
      const store = await makeStore();
      const checkpoints = new MemoryCheckpointStore<ReturnType<typeof counter.initial>>();
      await store.append(s1, [ev('A'), ev('B')], 'any');
      const first = new ProjectionRunner(store, counter, checkpoints);
      await first.start();
      await until(() => first.position === 2 || first.state.order.length === 2, 'the durable projection');
      await first.stop();
      await store.append(s1, [ev('C')], 'any');
      const second = new ProjectionRunner(store, counter, checkpoints);
      await second.start();
      await until(() => second.state.order.length === 3, 'the resumed projection');
      expect(second.state.counts).toEqual({ A: 1, B: 1, C: 1 });
      expect(second.state).toEqual((await ProjectionRunner.rebuild(store, counter)).state);
      await second.stop();
    });

    /** A and B stored, and a handler that records each event and never returns from B until `release`. */
    async function stuckOnB() {
      const store = await makeStore();
      await store.append(s1, [ev('A'), ev('B')], 'any');
      const seen: string[] = [];
      let stuck = true;
      const handler = async (e: StoredEvent) => {
        seen.push(e.type);
        if (stuck && e.type === 'B') await new Promise(() => undefined);
      };
      return { store, seen, handler, release: () => (stuck = false) };
    }

    it('delivers durably in order and again after a consumer crashes before ack', async () => {
      const { store, seen, handler, release } = await stuckOnB(); // the process "dies" with B in hand
      const first = await store.consume({ name: 'contract-crash', ackWaitMs: 500 }, handler);
      await until(() => seen.includes('B'), 'B to be delivered');
      first.kill();
      release();
      const second = await store.consume({ name: 'contract-crash', ackWaitMs: 500 }, handler);
      await until(() => seen.filter((t) => t === 'B').length === 2, 'B to be delivered again');
      await store.append(s1, [ev('C')], 'any');
      await until(() => seen.includes('C'), 'C after the redelivery');
      await second.stop();
      // A was acknowledged before the crash, so it is never seen again.
      expect(seen).toEqual(['A', 'B', 'B', 'C']);
      const third = await store.consume({ name: 'contract-crash', ackWaitMs: 500 }, handler);
      await store.append(s1, [ev('D')], 'any');
      await until(() => seen.includes('D'), 'D on the resumed consumer');
      await third.stop();
      expect(seen).toEqual(['A', 'B', 'B', 'C', 'D']);
    });

    it('stops within the drain bound when a handler does not return, and leaves its event to the next holder', async () => {
      const { store, seen, handler, release } = await stuckOnB();
      const first = await store.consume({ name: 'contract-drain', ackWaitMs: 500 }, handler);
      await until(() => seen.includes('B'), 'B to be in hand');
      await first.stop({ drainMs: 100 }); // resolves although B's handler never does
      release();
      const second = await store.consume({ name: 'contract-drain', ackWaitMs: 500 }, handler);
      await until(() => seen.filter((t) => t === 'B').length === 2, 'B to be delivered again');
      await second.stop();
      expect(seen).toEqual(['A', 'B', 'B']);
    });

    it('redelivers an event whose handler failed', async () => {
      const store = await makeStore();
      await store.append(s2, [ev('A')], 'any');
      let attempts = 0;
      const c = await store.consume({ name: 'contract-retry', aggregate: 'agent', ackWaitMs: 1_000 }, async () => {
        attempts++;
        if (attempts < 3) throw new Error('transient');
      });
      await until(() => attempts >= 3, 'three attempts');
      await c.stop();
      expect(attempts).toBe(3);
    });

    it('rejects stream ids that are not subject tokens', async () => {
      const store = await makeStore();
      await expect(store.append({ aggregate: 'session', id: 'a.b' }, [ev('A')], 'any')).rejects.toMatchObject({ code: 'invalid-payload' });
      await expect(store.append({ aggregate: 'session', id: 'a>' }, [ev('A')], 'any')).rejects.toMatchObject({ code: 'invalid-payload' });
    });
  });
}

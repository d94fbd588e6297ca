import { describe, expect, it } from 'vitest';
import { LaggingTailStore } from './lagging-tail.store.js';
import { type Projection, ProjectionRunner } from './projection-runner.js';

const at = '2026-11-22T10:00:00.000Z';
const event = (id: string) => ({ id, type: 'Seen', schemaVersion: 1, data: {}, metadata: { correlationId: id, causationId: id, at, actor: 'test' } });

/** Agent events only: the sessions' traffic never reaches it. */
const agentsSeen: Projection<string[]> = { name: 'agents-seen', version: 1, aggregate: 'agent', initial: () => [], apply: (s, e) => [...s, e.id] };

describe('a filtered projection catching up', () => {
  it('waits for its tail to reach the newest event of its aggregate, without reading the log', async () => {
    const store = new LaggingTailStore();
    const runner = new ProjectionRunner(store, agentsSeen);
    await runner.start();
    store.hold();
    await store.append({ aggregate: 'agent', id: 'a' }, [event('agent-1')], 'no-stream');
    // Session events after it: positions a filtered tail never sees, which catching up must not wait for.
    await store.append({ aggregate: 'session', id: 's' }, [event('session-1'), event('session-2')], 'no-stream');
    let caughtUp = false;
    const catchingUp = runner.catchUp().then(() => (caughtUp = true));
    await new Promise((r) => setImmediate(r));
    expect(caughtUp).toBe(false);
    store.release();
    await catchingUp;
    expect(runner.state).toEqual(['agent-1']);
    expect(store.reads).toBe(0);
    await runner.stop();
  });
});

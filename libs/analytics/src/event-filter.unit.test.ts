import { describe, expect, it } from 'vitest';
import { storedEvent as ev } from './analytics-event.fixture.js';
import { EventFilter } from './event-filter.js';

describe('EventFilter', () => {
  it("lets a session's events through once it is queued in the queue asked for, with what came before", () => {
    const f = new EventFilter({ queue: 'billing' });
    const opened = ev('session', 's1', 'SessionOpened', {});
    expect(f.accept(opened)).toEqual([]);
    const queued = ev('session', 's1', 'SessionQueued', { queueId: 'billing' });
    expect(f.accept(queued)).toEqual([opened, queued]);
    expect(f.accept(ev('session', 's2', 'SessionOpened', {}))).toEqual([]);
    expect(f.accept(ev('session', 's2', 'SessionQueued', { queueId: 'support' }))).toEqual([]);
    expect(f.accept(ev('agent', 'a1', 'AgentLoggedIn', { profile: { queues: ['billing'] } }))).toHaveLength(1);
    expect(f.accept(ev('agent', 'a2', 'AgentLoggedIn', { profile: { queues: ['support'] } }))).toHaveLength(0);
    expect(f.accept(ev('agent', 'a3', 'AgentLoggedIn', { profile: { queues: null } }))).toHaveLength(1);
  });

  it("filters by aggregate, type and the event's own instant", () => {
    const f = new EventFilter({ aggregate: 'session', types: ['SessionEnded'], sinceMs: Date.parse('2026-11-21T09:00:00Z'), untilMs: Date.parse('2026-11-21T10:00:00Z') });
    expect(f.accept(ev('session', 's1', 'SessionEnded', { at: '2026-11-21T09:30:00.000Z' }))).toHaveLength(1);
    expect(f.accept(ev('session', 's1', 'SessionEnded', { at: '2026-11-21T10:00:00.000Z' }))).toHaveLength(0);
    expect(f.accept(ev('session', 's1', 'SessionQueued', { at: '2026-11-21T09:30:00.000Z' }))).toHaveLength(0);
    expect(f.accept(ev('agent', 'a1', 'SessionEnded', { at: '2026-11-21T09:30:00.000Z' }))).toHaveLength(0);
  });
});

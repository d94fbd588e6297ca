import { describe, expect, it } from 'vitest';
import type { AnalyticsEvent } from './analytics-event.js';
import { storedEvent as ev } from './analytics-event.fixture.js';
import { TableBuilder } from './table-builder.js';
import type { Row } from './table-schemas.js';

const T = (s: number) => new Date(Date.UTC(2026, 10, 21, 9, 0, s)).toISOString();
const profile = { displayName: 'A', kind: 'human', skills: {}, languages: ['en'], capacity: 2, capabilities: [], queues: ['q1'], wrapUpSeconds: 10 };
const core = {
  sessionId: 's1',
  entryPointId: 'ep1',
  channel: 'web',
  customerAddress: 'c@x',
  sessionAddress: 's-s1@x',
  client: { name: 'Gajim', version: '1.8', capabilities: [] },
  locale: 'en',
  openedAt: T(0),
};

function run(events: AnalyticsEvent[], includeBodies = false) {
  const out: Record<string, Row[]> = { sessions: [], offers: [], messages: [], agentStates: [] };
  const b = new TableBuilder(
    { sessions: (r) => out.sessions!.push(r), offers: (r) => out.offers!.push(r), messages: (r) => out.messages!.push(r), agentStates: (r) => out.agentStates!.push(r) },
    { includeBodies },
  );
  for (const e of events) b.apply(e);
  b.finish(T(100));
  return out;
}

const scripted = () => [
  ev('agent', 'a1', 'AgentLoggedIn', { profile, leaseSeconds: 60, expiresAt: T(60), at: T(0) }, T(0)),
  ev('session', 's1', 'SessionOpened', core, T(1)),
  ev('session', 's1', 'IntakeStarted', { flowId: 'f', questionId: 'q', route: {} }, T(1)),
  ev('session', 's1', 'IntakeAnswered', { messageId: 'm0', questionId: 'q', attribute: 'topic', answer: 'billing', next: null, route: {} }, T(3)),
  ev('session', 's1', 'SessionQueued', { queueId: 'q1', priority: 0, arrivedAt: T(3), requirements: { skills: {}, language: 'en', capabilities: [] } }, T(3)),
  ev('session', 's1', 'CustomerMessageReceived', { messageId: 'm1', body: 'héllo', at: T(4) }, T(4)),
  ev(
    'session',
    's1',
    'SessionOffered',
    { offerId: 'o1', agentId: 'a1', expiresAt: T(35), at: T(5), decision: { queueId: 'q1', strategy: 'longest-idle', step: 1, rule: 'step 1', eligible: ['a1'], tieBreak: 'longest idle' } },
    T(5),
  ),
  ev('session', 's1', 'SessionOfferDeclined', { offerId: 'o1', agentId: 'a1', outcome: 'rejected', reason: 'busy', at: T(7) }, T(7)),
  ev('session', 's1', 'SessionOffered', { offerId: 'o2', agentId: 'a1', expiresAt: T(40), at: T(10) }, T(10)),
  ev('session', 's1', 'SessionAssigned', { offerId: 'o2', agentId: 'a1', at: T(13) }, T(13)),
  ev('agent', 'a1', 'AgentConversationStarted', { sessionId: 's1', offerId: 'o2' }, T(13)),
  ev('session', 's1', 'AgentMessageSent', { messageId: 'm2', agentId: 'a1', body: 'hi', at: T(14) }, T(14)),
  ev('session', 's1', 'SessionEnded', { endedBy: 'agent', reason: 'done', disposition: 'resolved', abandoned: false, agentId: 'a1', at: T(43) }, T(43)),
  ev('agent', 'a1', 'AgentConversationEnded', { sessionId: 's1', at: T(43), wrapUpUntil: T(53) }, T(43)),
  ev('agent', 'a1', 'AgentStateChanged', { state: 'away', reason: 'lunch', at: T(70) }, T(70)),
];

describe('TableBuilder', () => {
  it('makes one session row with the instants, wait, handle time, answers and outcome', () => {
    const { sessions } = run(scripted());
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({
      session_id: 's1',
      entry_point_id: 'ep1',
      channel: 'web',
      client_name: 'Gajim',
      client_version: '1.8',
      locale: 'en',
      intake_answers: '{"topic":"billing"}',
      queue_id: 'q1',
      opened_at: T(0),
      queued_at: T(3),
      first_offer_at: T(5),
      assigned_at: T(13),
      ended_at: T(43),
      wait_seconds: 10,
      offer_to_assign_seconds: 3,
      handle_seconds: 30,
      agent_id: 'a1',
      first_agent_kind: 'human',
      offers: 2,
      transfers: 0,
      disposition: 'resolved',
      abandoned: false,
      ended_by: 'agent',
    });
  });

  it('makes one offer row per offer with its decision record and outcome', () => {
    const { offers } = run(scripted());
    expect(offers.map((o) => [o.offer_id, o.outcome, o.response_seconds, o.strategy, o.eligible_count])).toEqual([
      ['o1', 'rejected', 2, 'longest-idle', 1],
      ['o2', 'accepted', 3, null, null],
    ]);
  });

  it('keeps message lengths and leaves bodies out unless asked', () => {
    expect(run(scripted()).messages.map((m) => [m.author, m.length, m.body])).toEqual([
      ['customer', 5, null],
      ['agent', 2, null],
    ]);
    expect(run(scripted(), true).messages.map((m) => m.body)).toEqual(['héllo', 'hi']);
  });

  it("cuts an agent's time into available, busy, wrap-up and away intervals that tile it", () => {
    const { agentStates } = run(scripted());
    expect(agentStates.map((a) => [a.state, a.started_at, a.ended_at, a.conversations, a.reason])).toEqual([
      ['available', T(0), T(13), 0, null],
      ['busy', T(13), T(43), 1, null],
      ['wrap-up', T(43), T(53), 0, null],
      ['available', T(53), T(70), 0, null],
      ['away', T(70), T(100), 0, 'lunch'],
    ]);
    expect(agentStates.reduce((s, a) => s + (a.seconds as number), 0)).toBe(100);
  });

  it('counts a session that ended in the queue as abandoned, with its wait', () => {
    const { sessions } = run([
      ev('session', 's2', 'SessionOpened', { ...core, sessionId: 's2', openedAt: T(0) }, T(0)),
      ev('session', 's2', 'SessionQueued', { queueId: 'q1', priority: 0, arrivedAt: T(0) }, T(0)),
      ev('session', 's2', 'SessionEnded', { endedBy: 'customer', reason: 'left', disposition: null, abandoned: true, agentId: null, at: T(12) }, T(12)),
    ]);
    expect(sessions[0]).toMatchObject({ abandoned: true, wait_seconds: 12, assigned_at: null, handle_seconds: null });
  });
});

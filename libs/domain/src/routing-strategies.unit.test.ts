import { describe, expect, it } from 'vitest';
import type { AgentProfile, AgentState } from './agent.decider.js';
import { type ContactCenterView, emptyView } from './contact-center.view.js';
import { type QueueRouting, type RuleStep, planOffers } from './routing-policy.js';

const T0 = Date.parse('2026-11-21T10:00:00.000Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

interface AgentSpec {
  id: string;
  idle?: number;
  capacity?: number;
  load?: number;
  skills?: Record<string, number>;
  languages?: string[];
  kind?: 'human' | 'bot';
  queues?: string[] | null;
  wrapUpUntil?: number;
  status?: 'available' | 'away';
}
interface SessionSpec {
  id: string;
  queue?: string;
  arrived?: number;
  priority?: number;
  skills?: Record<string, number>;
  language?: string | null;
  target?: string;
}

function view(agents: AgentSpec[], sessions: SessionSpec[], lastOffered: Record<string, string> = {}): ContactCenterView {
  const v = emptyView();
  v.lastOffered = lastOffered;
  for (const a of agents) {
    const profile: AgentProfile = {
      displayName: a.id,
      kind: a.kind ?? 'human',
      skills: a.skills ?? {},
      languages: a.languages ?? ['en'],
      capacity: a.capacity ?? 1,
      capabilities: [],
      queues: a.queues === undefined ? ['q'] : a.queues,
    };
    v.agents[a.id] = {
      status: a.status ?? 'available',
      reason: null,
      profile,
      leaseSeconds: 60,
      expiresAt: iso(3600),
      reservations: [],
      conversations: Array.from({ length: a.load ?? 0 }, (_, i) => `busy-${a.id}-${i}`),
      missedOffers: 0,
      idleSince: iso(a.idle ?? 0),
      wrapUpUntil: a.wrapUpUntil === undefined ? null : iso(a.wrapUpUntil),
    } as AgentState;
  }
  for (const s of sessions) {
    v.sessions[s.id] = {
      status: 'queued',
      core: { sessionId: s.id, entryPointId: 'ep', channel: 'c', customerAddress: `${s.id}@c.test`, sessionAddress: `s-${s.id}@x.test`, client: null, locale: null, openedAt: iso(s.arrived ?? 0) },
      place: {
        queueId: s.queue ?? 'q',
        priority: s.priority ?? 0,
        arrivedAt: iso(s.arrived ?? 0),
        requirements: { skills: s.skills ?? {}, language: s.language ?? null, capabilities: [] },
        notBefore: null,
        targetAgentId: s.target ?? null,
      },
      offer: null,
      answers: {},
      messageIds: [],
    };
    (v.queued[s.queue ?? 'q'] ??= {})[s.id] = true;
    if (s.target) v.targeted[s.id] = s.target;
  }
  return v;
}
const plan = (v: ContactCenterView, routing: QueueRouting | Record<string, QueueRouting>, at = 0) =>
  planOffers(v, { now: iso(at), declineCooldownSeconds: 60, routingOf: (q) => ('strategy' in routing ? (routing as QueueRouting) : (routing as Record<string, QueueRouting>)[q]) });
const pairs = (offers: { sessionId: string; agentId: string }[]) => offers.map((o) => `${o.sessionId}→${o.agentId}`);
const only = (strategy: QueueRouting['strategy'], steps: RuleStep[] = [{ afterSeconds: 0 }]): QueueRouting => ({ strategy, steps });

describe('strategies', () => {
  const agents: AgentSpec[] = [
    { id: 'ann', idle: 5, capacity: 3, load: 2, skills: { billing: 2 } },
    { id: 'bob', idle: 1, capacity: 2, load: 1, skills: { billing: 5 } },
    { id: 'cid', idle: 9, capacity: 4, load: 1, skills: { billing: 3 } },
  ];
  it.each([
    ['longest-idle', 'bob', /longest idle/],
    ['least-occupied', 'cid', /least occupied: 1 of 4/],
    ['round-robin', 'ann', /round robin: next after the start/],
    ['best-skill', 'bob', /best skill: score 5 on billing/],
  ] as const)('%s picks %s', (strategy, expected, tieBreak) => {
    const [offer] = plan(view(agents, [{ id: 's1', skills: { billing: 1 } }]), only(strategy));
    expect(offer!.agentId).toBe(expected);
    expect(offer!.decision).toMatchObject({ strategy, queueId: 'q', step: 1, eligible: ['ann', 'bob', 'cid'] });
    expect(offer!.decision.tieBreak).toMatch(tieBreak);
  });

  it('round robin remembers the last agent of the queue and wraps around', () => {
    const v = view([{ id: 'a' }, { id: 'b' }, { id: 'c' }], [{ id: 's1' }, { id: 's2', arrived: 1 }], { q: 'b' });
    expect(pairs(plan(v, only('round-robin')))).toEqual(['s1→c', 's2→a']);
  });

  it('keeps priority, then arrival, within a queue', () => {
    const v = view(
      [
        { id: 'a', idle: 0 },
        { id: 'b', idle: 1 },
      ],
      [
        { id: 'late-vip', arrived: 30, priority: 2 },
        { id: 'early', arrived: 0 },
        { id: 'later', arrived: 10 },
      ],
    );
    expect(pairs(plan(v, only('longest-idle')))).toEqual(['late-vip→a', 'early→b']);
  });

  it('skips agents in wrap-up, away or at capacity', () => {
    const v = view(
      [
        { id: 'wrapping', idle: 0, wrapUpUntil: 30 },
        { id: 'away', idle: 0, status: 'away' },
        { id: 'full', idle: 0, load: 1 },
        { id: 'free', idle: 50 },
      ],
      [{ id: 's1' }],
    );
    expect(pairs(plan(v, only('longest-idle'), 10))).toEqual(['s1→free']);
    expect(pairs(plan(v, only('longest-idle'), 31))).toEqual(['s1→wrapping']);
  });
});

describe('rule steps widen the pool as the wait grows (time passed in)', () => {
  const routing = only('best-skill', [
    { afterSeconds: 0, minProficiency: 4 },
    { afterSeconds: 30, minProficiency: 2 },
    { afterSeconds: 60, ignoreSkills: true },
    { afterSeconds: 120, overflowTo: ['spill'] },
  ]);
  const agents: AgentSpec[] = [
    { id: 'pro', skills: { billing: 2 }, languages: ['de'] },
    { id: 'novice', skills: { billing: 1 }, languages: ['de'] },
    { id: 'spill-agent', skills: { billing: 5 }, languages: ['de'], queues: ['spill'] },
    { id: 'english', skills: { billing: 5 }, languages: ['en'] },
  ];
  const session: SessionSpec = { id: 's', skills: { billing: 3 }, language: 'de' };
  it.each([
    [0, [], 'no German agent with billing ≥ 4'],
    [29, [], 'still the first step'],
    [30, ['s→pro'], 'billing ≥ 2 now'],
    [60, ['s→pro'], 'any skills: best skill still prefers pro over novice'],
    [120, ['s→spill-agent'], "overflow brings the spill queue's better agent in"],
  ] as const)('after %i s: %j (%s)', (at, expected) => {
    const offers = plan(view(agents, [session]), routing, at);
    expect(pairs(offers)).toEqual(expected);
  });

  it('records the step and rule that matched', () => {
    const [offer] = plan(view(agents, [session]), routing, 45);
    expect(offer!.decision).toMatchObject({ step: 2, rule: 'step 2 (after 30 s); skills billing≥2; language de', eligible: ['pro'] });
  });

  it('routes bot first, people after', () => {
    const botFirst = only('longest-idle', [
      { afterSeconds: 0, agentKind: 'bot' },
      { afterSeconds: 20, agentKind: 'human' },
    ]);
    const v = view(
      [
        { id: 'person', idle: 0 },
        { id: 'bot', idle: 10, kind: 'bot', capacity: 50 },
      ],
      [{ id: 's' }],
    );
    expect(pairs(plan(v, botFirst, 5))).toEqual(['s→bot']);
    expect(pairs(plan(v, botFirst, 25))).toEqual(['s→person']);
  });
});

describe('transfers', () => {
  it("offers a session transferred to an agent only to that agent, outside the queue's rules", () => {
    const v = view(
      [
        { id: 'idle-longest', idle: 0 },
        { id: 'named', idle: 50, queues: ['elsewhere'] },
      ],
      [{ id: 's', target: 'named', skills: { secret: 5 } }],
    );
    const [offer] = plan(v, only('longest-idle'));
    expect(offer).toMatchObject({ agentId: 'named', decision: { rule: expect.stringContaining('transferred to named') } });
    const busy = view(
      [
        { id: 'idle-longest', idle: 0 },
        { id: 'named', load: 1 },
      ],
      [{ id: 's', target: 'named' }],
    );
    expect(plan(busy, only('longest-idle'))).toEqual([]);
    // The queue's own agents are all busy, the named agent is free elsewhere: the session still goes.
    const elsewhere = view(
      [
        { id: 'queue-agent', load: 1 },
        { id: 'named', queues: ['other'] },
      ],
      [{ id: 's', target: 'named' }],
    );
    expect(pairs(plan(elsewhere, only('longest-idle')))).toEqual(['s→named']);
  });
});

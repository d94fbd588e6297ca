import { describe, expect, it } from 'vitest';
import { type AgentCommand, type AgentState, agentDecider, agentLoad } from './agent.decider.js';

const T0 = '2026-11-21T10:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();
const profile = { displayName: 'Ada', kind: 'human' as const, skills: {}, languages: ['en'], capacity: 2, capabilities: [], queues: null };

function run(commands: AgentCommand[], state: AgentState = agentDecider.initialState()) {
  for (const c of commands) state = agentDecider.decide(c, state).reduce(agentDecider.evolve, state);
  return state;
}
const login: AgentCommand = { kind: 'login', profile, leaseSeconds: 60, now: T0 };
const reserve = (offerId: string, s = 1, expires = 30): AgentCommand => ({ kind: 'reserve-offer', offerId, sessionId: `S-${offerId}`, expiresAt: at(expires), now: at(s) });

describe('agent decider', () => {
  it('holds a login for its lease; a heartbeat after the lease is refused', () => {
    const s = run([login]);
    expect(s).toMatchObject({ status: 'available', expiresAt: at(60) });
    expect(run([{ kind: 'heartbeat', now: at(30) }], s)).toMatchObject({ expiresAt: at(90) });
    expect(() => agentDecider.decide({ kind: 'heartbeat', now: at(61) }, s)).toThrow(expect.objectContaining({ code: 'not-found' }));
    expect(agentDecider.decide({ kind: 'expire-lease', now: at(59) }, s)).toEqual([]);
    expect(run([{ kind: 'expire-lease', now: at(60) }], s).status).toBe('offline');
  });

  it('reserves capacity for offers and refuses beyond it, until a reservation is released (never by the clock alone)', () => {
    const s = run([login, reserve('o1'), reserve('o2')]);
    expect(agentLoad(s)).toBe(2);
    expect(() => agentDecider.decide(reserve('o3', 2), s)).toThrow(expect.objectContaining({ code: 'conflict' }));
    // Past o1's expiry it may still be accepted on its session: it counts until an event releases it.
    expect(() => agentDecider.decide(reserve('o3', 31), s)).toThrow(expect.objectContaining({ code: 'conflict' }));
    const released = run([{ kind: 'release-offer', offerId: 'o1', outcome: 'expired', maxMissedOffers: 5, now: at(31) }], s);
    expect(agentDecider.decide(reserve('o3', 32), released)).toHaveLength(1);
  });

  it('refuses offers while away and sets away after too many missed offers', () => {
    const away = run([login, { kind: 'change-state', state: 'away', reason: 'lunch', now: at(1) }]);
    expect(away).toMatchObject({ status: 'away', reason: 'lunch' });
    expect(() => agentDecider.decide(reserve('o1'), away)).toThrow(expect.objectContaining({ code: 'conflict' }));
    const missed = (offerId: string): AgentCommand => ({ kind: 'release-offer', offerId, outcome: 'expired', maxMissedOffers: 2, now: at(40) });
    const once = run([login, reserve('o1'), missed('o1')]);
    expect(once.status).toBe('available');
    const twice = run([reserve('o2', 41, 70), missed('o2')], once);
    expect(twice).toMatchObject({ status: 'away', reason: 'missed-offers' });
  });

  it('turns an accepted offer into a conversation and frees it at the end, once each', () => {
    let s = run([login, reserve('o1')]);
    s = run([{ kind: 'start-conversation', sessionId: 'S-o1', offerId: 'o1' }], s);
    expect(s).toMatchObject({ conversations: ['S-o1'], reservations: [] });
    expect(agentDecider.decide({ kind: 'start-conversation', sessionId: 'S-o1', offerId: 'o1' }, s)).toEqual([]);
    s = run([{ kind: 'end-conversation', sessionId: 'S-o1', now: at(100) }], s);
    expect(s).toMatchObject({ conversations: [], idleSince: at(100) });
    expect(agentDecider.decide({ kind: 'end-conversation', sessionId: 'S-o1', now: at(101) }, s)).toEqual([]);
  });
});

describe('a reservation left behind', () => {
  it("goes when the agent starts a conversation on the same session through another offer (a killed router's first offer)", () => {
    let s = run([login, { kind: 'reserve-offer', offerId: 'dead', sessionId: 'S1', expiresAt: at(30), now: at(1) }]);
    s = run([{ kind: 'reserve-offer', offerId: 'o2', sessionId: 'S1', expiresAt: at(40), now: at(10) }], s);
    s = run([{ kind: 'start-conversation', sessionId: 'S1', offerId: 'o2' }], s);
    expect(s).toMatchObject({ conversations: ['S1'], reservations: [] });
  });
});

describe('wrap-up', () => {
  it("follows each conversation for the agent's wrap-up time and shows as a state of its own", async () => {
    const { presenceOf, inWrapUp } = await import('./agent.decider.js');
    let s = run([{ ...login, profile: { ...profile, wrapUpSeconds: 45 } } as AgentCommand, reserve('o1')]);
    s = run(
      [
        { kind: 'start-conversation', sessionId: 'S-o1', offerId: 'o1' },
        { kind: 'end-conversation', sessionId: 'S-o1', now: at(100) },
      ],
      s,
    );
    expect(s).toMatchObject({ wrapUpUntil: at(145), idleSince: at(145) });
    expect(presenceOf(s, at(120))).toBe('wrap-up');
    expect(inWrapUp(s, at(145))).toBe(false);
    expect(presenceOf(s, at(145))).toBe('available');
  });
});

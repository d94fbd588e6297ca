import { describe, expect, it } from 'vitest';
import { decideAll } from './aggregate.js';
import { type SessionCommand, type SessionState, sessionAddressFor, sessionDecider, sessionIdFromAddress } from './session.decider.js';

const T0 = '2026-11-21T10:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();
const core = {
  sessionId: 'S1',
  entryPointId: 'ep',
  channel: 'xmpp',
  customerAddress: 'ann@example.test',
  sessionAddress: 's-S1@support.example.test',
  client: null,
  locale: 'en',
  openedAt: T0,
};

const run = (commands: SessionCommand[], state?: SessionState) => decideAll(sessionDecider, commands, state);
const open: SessionCommand = { kind: 'open', core, route: { queueId: 'q', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } }, intake: null, notBefore: null };
const offer: SessionCommand = { kind: 'offer', offerId: 'o1', agentId: 'a1', expiresAt: at(30), now: at(1) };

describe('session decider', () => {
  it('opens a session into its queue at the moment it opened', () => {
    const { state, events } = run([open]);
    expect(events.map((e) => e.type)).toEqual(['SessionOpened', 'SessionQueued']);
    expect(state).toMatchObject({ status: 'queued', place: { queueId: 'q', arrivedAt: T0 }, offer: null });
    expect(run([open, open]).events).toHaveLength(2);
  });

  it('completes an open whose second event was never stored (the connection dropped between the two appends)', () => {
    const opened = sessionDecider.evolve(sessionDecider.initialState(), run([open]).events[0]!);
    expect(opened.status).toBe('opened');
    const { state, events } = run([{ ...open, core: { ...core, openedAt: at(9) } } as SessionCommand], opened);
    expect(events.map((e) => e.type)).toEqual(['SessionQueued']);
    expect(state).toMatchObject({ status: 'queued', place: { queueId: 'q', arrivedAt: T0 } }); // queued as it arrived
  });

  it('takes customer messages only from the customer on their channel, once per message ID', () => {
    const { state } = run([open]);
    const msg = (from: string, channel = 'xmpp', messageId = 'm1') => ({ kind: 'receive-customer-message' as const, channel, from, messageId, body: 'hi', now: at(2) });
    expect(() => sessionDecider.decide(msg('mallory@example.test'), state)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    expect(() => sessionDecider.decide(msg('ann@example.test', 'web'), state)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    const after = run([msg('ann@example.test')], state);
    expect(after.events).toHaveLength(1);
    expect(sessionDecider.decide(msg('ann@example.test'), after.state)).toEqual([]);
    expect(() => sessionDecider.decide(msg('ann@example.test'), sessionDecider.initialState())).toThrow(expect.objectContaining({ code: 'not-found' }));
  });

  it('allows one pending offer, accepted only by its agent before it expires', () => {
    const { state } = run([open, offer]);
    expect(() => sessionDecider.decide({ ...offer, offerId: 'o2' } as SessionCommand, state)).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(() => sessionDecider.decide({ kind: 'accept-offer', offerId: 'o1', agentId: 'a2', now: at(2) }, state)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    expect(() => sessionDecider.decide({ kind: 'accept-offer', offerId: 'o1', agentId: 'a1', now: at(30) }, state)).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(() => sessionDecider.decide({ kind: 'accept-offer', offerId: 'nope', agentId: 'a1', now: at(2) }, state)).toThrow(expect.objectContaining({ code: 'not-found' }));
    const accepted = run([{ kind: 'accept-offer', offerId: 'o1', agentId: 'a1', now: at(2) }], state);
    expect(accepted.state).toMatchObject({ status: 'assigned', agentId: 'a1' });
    expect(sessionDecider.decide({ kind: 'accept-offer', offerId: 'o1', agentId: 'a1', now: at(3) }, accepted.state)).toEqual([]);
  });

  it('keeps the original place when an offer is rejected or expires', () => {
    const { state } = run([open, offer, { kind: 'decline-offer', offerId: 'o1', agentId: 'a1', outcome: 'rejected', reason: null, now: at(5) }]);
    expect(state).toMatchObject({ status: 'queued', offer: null, place: { arrivedAt: T0 } });
    const pending = run([open, offer]).state;
    expect(sessionDecider.decide({ kind: 'decline-offer', offerId: 'o1', agentId: null, outcome: 'expired', reason: null, now: at(10) }, pending)).toEqual([]);
    expect(sessionDecider.decide({ kind: 'decline-offer', offerId: 'o1', agentId: null, outcome: 'expired', reason: null, now: at(30) }, pending)).toHaveLength(1);
  });

  it('ends from either side: abandoned while queued, refused to strangers, idempotent once ended', () => {
    const queued = run([open]).state;
    const end = (endedBy: 'customer' | 'agent', who: string | null) =>
      ({ kind: 'end', endedBy, agentId: endedBy === 'agent' ? who : null, from: endedBy === 'customer' ? who : null, reason: 'x', disposition: null, now: at(9) }) as SessionCommand;
    expect(sessionDecider.decide(end('customer', 'ann@example.test'), queued)[0]).toMatchObject({ type: 'SessionEnded', data: { abandoned: true, agentId: null } });
    expect(() => sessionDecider.decide(end('customer', 'eve@example.test'), queued)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    expect(() => sessionDecider.decide(end('agent', 'a1'), queued)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    const assigned = run([open, offer, { kind: 'accept-offer', offerId: 'o1', agentId: 'a1', now: at(2) }]).state;
    const ended = run([end('agent', 'a1')], assigned);
    expect(ended.events[0]).toMatchObject({ data: { abandoned: false, agentId: 'a1', endedBy: 'agent' } });
    expect(sessionDecider.decide(end('agent', 'a1'), ended.state)).toEqual([]);
  });

  it('lets only the assigned agent write, once per message ID', () => {
    const assigned = run([open, offer, { kind: 'accept-offer', offerId: 'o1', agentId: 'a1', now: at(2) }]).state;
    const say = (agentId: string) => ({ kind: 'send-agent-message' as const, agentId, messageId: 'r1', body: 'hello', now: at(3) });
    expect(() => sessionDecider.decide(say('a2'), assigned)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    const once = run([say('a1')], assigned);
    expect(sessionDecider.decide(say('a1'), once.state)).toEqual([]);
  });

  it('puts the session ID in an address on the published domain and reads it back', () => {
    const address = sessionAddressFor('AbC_12-x', 'support@acme.example');
    expect(address).toBe('s-AbC_12-x@acme.example');
    expect(sessionIdFromAddress(address)).toBe('AbC_12-x');
    expect(sessionIdFromAddress('support@acme.example')).toBeNull();
    expect(sessionIdFromAddress('s-a.b@acme.example')).toBeNull();
  });
});

describe('transfers', () => {
  it('puts the session back in a queue with its original arrival, answers and history, optionally for one agent', () => {
    const assigned = run([open, { ...offer, now: at(1) }, { kind: 'accept-offer', offerId: 'o1', agentId: 'a1', now: at(2) }]).state;
    expect(() => sessionDecider.decide({ kind: 'transfer', agentId: 'a2', toQueueId: 'q2', toAgentId: null, reason: null, now: at(3) }, assigned)).toThrow(
      expect.objectContaining({ code: 'forbidden' }),
    );
    expect(() => sessionDecider.decide({ kind: 'transfer', agentId: 'a1', toQueueId: null, toAgentId: 'a1', reason: null, now: at(3) }, assigned)).toThrow(
      expect.objectContaining({ code: 'conflict' }),
    );
    const { state, events } = run([{ kind: 'transfer', agentId: 'a1', toQueueId: 'humans', toAgentId: null, reason: 'needs a person', now: at(60) }], assigned);
    expect(events[0]).toMatchObject({ type: 'SessionTransferred', data: { fromAgentId: 'a1', toQueueId: 'humans', toAgentId: null } });
    expect(state).toMatchObject({ status: 'queued', offer: null, place: { queueId: 'humans', arrivedAt: T0, targetAgentId: null } });
    const toAgent = run([{ kind: 'transfer', agentId: 'a1', toQueueId: null, toAgentId: 'a9', reason: null, now: at(60) }], assigned).state;
    expect(toAgent).toMatchObject({ status: 'queued', place: { queueId: 'q', targetAgentId: 'a9' } });
    expect(() => sessionDecider.decide({ kind: 'offer', offerId: 'o2', agentId: 'a3', expiresAt: at(90), now: at(61) }, toAgent)).toThrow(expect.objectContaining({ code: 'conflict' }));
  });

  it('has no phantom state: an opened session is `opened` until it starts its intake or joins a real queue', () => {
    const opened = sessionDecider.evolve(sessionDecider.initialState(), { type: 'SessionOpened', data: core });
    expect(opened.status).toBe('opened');
    expect('place' in opened).toBe(false);
    expect(() => sessionDecider.decide(offer, opened)).toThrow(expect.objectContaining({ code: 'conflict' }));
  });

  it("keeps each author's message IDs their own: a customer's X and an agent's X are two messages (defect 1)", () => {
    const assigned = run([open, offer, { kind: 'accept-offer', offerId: 'o1', agentId: 'a1', now: at(2) }]).state;
    const { events } = run(
      [
        { kind: 'receive-customer-message', channel: 'xmpp', from: core.customerAddress, messageId: 'X', body: 'hi', now: at(3) },
        { kind: 'send-agent-message', agentId: 'a1', messageId: 'X', body: 'hello', now: at(4) },
        { kind: 'receive-customer-message', channel: 'xmpp', from: core.customerAddress, messageId: 'X', body: 'hi again', now: at(5) },
      ],
      assigned,
    );
    expect(events.map((e) => e.type)).toEqual(['CustomerMessageReceived', 'AgentMessageSent']);
  });

  it("refuses the end of a session by its customer's address on another channel (defect 2)", () => {
    const { state } = run([open]);
    expect(() => sessionDecider.decide({ kind: 'end', endedBy: 'customer', agentId: null, from: core.customerAddress, channel: 'web', reason: 'x', disposition: null, now: at(1) }, state)).toThrow(
      expect.objectContaining({ code: 'forbidden' }),
    );
    expect(sessionDecider.decide({ kind: 'end', endedBy: 'customer', agentId: null, from: core.customerAddress, channel: 'xmpp', reason: 'x', disposition: null, now: at(1) }, state)).toHaveLength(1);
  });

  it('asks a silent customer first, then ends the intake or chat; never a session waiting in a queue', () => {
    const assigned = run([open, offer, { kind: 'accept-offer', offerId: 'o1', agentId: 'a1', now: at(2) }]).state;
    const check = (now: number) => ({ kind: 'check-idle', warnAfterSeconds: 60, endAfterSeconds: 120, now: at(now) }) as const;
    expect(sessionDecider.decide(check(30), assigned)).toEqual([]);
    const warned = run([check(70)], assigned);
    expect(warned.events).toMatchObject([{ type: 'SessionIdleWarned', data: { recipient: 'agent' } }]);
    expect(sessionDecider.decide(check(100), warned.state)).toEqual([]);
    expect(run([check(125)], warned.state).events).toMatchObject([{ type: 'SessionEnded', data: { endedBy: 'system', reason: 'idle', abandoned: false } }]);
    // A message resets the silence.
    const spoke = run([{ kind: 'send-agent-message', agentId: 'a1', messageId: 'm', body: 'still there?', now: at(110) }, check(125)], warned.state);
    expect(spoke.events.map((e) => e.type)).toEqual(['AgentMessageSent']);
    expect(sessionDecider.decide(check(10_000), run([open]).state)).toEqual([]);
  });
});

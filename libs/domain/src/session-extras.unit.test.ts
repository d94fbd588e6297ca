import { describe, expect, it } from 'vitest';
import { decideAll } from './aggregate.js';
import { cannedResponsesDecider } from './canned-responses.decider.js';
import { type SessionCommand, type SessionState, sessionDecider } from './session.decider.js';

const T0 = '2026-11-21T10:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();
const core = { sessionId: 'S1', entryPointId: 'ep', channel: 'web', customerAddress: 'v-1@visitors.test', sessionAddress: 's-S1@support.example.test', client: null, locale: 'en', openedAt: T0 };

const run = (commands: SessionCommand[], state?: SessionState) => decideAll(sessionDecider, commands, state);
const open: SessionCommand = { kind: 'open', core, route: { queueId: 'q', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } }, intake: null, notBefore: null };
const offer: SessionCommand = { kind: 'offer', offerId: 'o1', agentId: 'a1', expiresAt: at(30), now: at(1) };
const accept: SessionCommand = { kind: 'accept-offer', offerId: 'o1', agentId: 'a1', now: at(2) };
const assigned = () => run([open, offer, accept]).state;

describe('session decider: what people around a conversation add', () => {
  it("takes a rating from the session's customer only, also after the end, 1 to 5", () => {
    const rate = (from: string, score = 4): SessionCommand => ({ kind: 'rate', channel: 'web', from, ratingId: 'r1', score, comment: 'ok', now: at(9) });
    const ended = run([{ kind: 'end', endedBy: 'agent', agentId: 'a1', from: null, reason: 'done', disposition: 'resolved', now: at(8) }], assigned()).state;
    expect(sessionDecider.decide(rate('v-1@visitors.test'), ended)).toEqual([{ type: 'SessionRated', data: { ratingId: 'r1', score: 4, comment: 'ok', at: at(9) } }]);
    expect(() => sessionDecider.decide(rate('mallory@visitors.test'), ended)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    expect(() => sessionDecider.decide(rate('v-1@visitors.test', 6), ended)).toThrow(expect.objectContaining({ code: 'invalid-payload' }));
    expect(() => sessionDecider.decide(rate('v-1@visitors.test'), sessionDecider.initialState())).toThrow(expect.objectContaining({ code: 'not-found' }));
  });

  it('takes internal notes from the assigned agent only, and changes nothing routing sees', () => {
    const state = assigned();
    const note = (agentId: string): SessionCommand => ({ kind: 'add-note', agentId, noteId: 'n1', body: 'VIP', now: at(3) });
    const { events, state: after } = run([note('a1')], state);
    expect(events).toEqual([{ type: 'SessionNoteAdded', data: { noteId: 'n1', agentId: 'a1', body: 'VIP', at: at(3) } }]);
    expect(after).toEqual(state);
    expect(() => sessionDecider.decide(note('a2'), state)).toThrow(expect.objectContaining({ code: 'forbidden' }));
  });

  it('lets a supervisor whisper to and take over a conversation with an agent, not a waiting one', () => {
    const state = assigned();
    expect(run([{ kind: 'whisper', supervisor: 'sam', whisperId: 'w1', body: 'psst', now: at(3) }], state).events).toEqual([
      { type: 'SupervisorWhispered', data: { whisperId: 'w1', supervisor: 'sam', agentId: 'a1', body: 'psst', at: at(3) } },
    ]);
    const taken = run(
      [
        { kind: 'take-over', supervisor: 'sam', displayName: 'Sam', now: at(4) },
        { kind: 'send-supervisor-message', supervisor: 'sam', displayName: 'Sam', messageId: 'm1', body: 'Hello', now: at(5) },
      ],
      state,
    );
    expect(taken.events.map((e) => e.type)).toEqual(['SessionTakenOver', 'SupervisorMessageSent']);
    expect(taken.events[0]!.data).toMatchObject({ fromAgentId: 'a1' });
    // The agent keeps the session for capacity and can still end it, but no longer writes to the customer (a
    // message sent before the take-over and retried after it is still the same message: nothing new).
    expect(taken.state).toMatchObject({ status: 'assigned', agentId: 'a1' });
    const agentSays = (messageId: string): SessionCommand => ({ kind: 'send-agent-message', agentId: 'a1', messageId, body: 'me too', now: at(6) });
    expect(() => sessionDecider.decide(agentSays('late'), taken.state)).toThrow(
      expect.objectContaining({ code: 'conflict', message: 'Sam took this conversation over', details: { takenOverBy: 'sam' } }),
    );
    const before = run([agentSays('early'), { kind: 'take-over', supervisor: 'sam', displayName: 'Sam', now: at(7) }], state).state;
    expect(sessionDecider.decide(agentSays('early'), before)).toEqual([]);
    expect(run([{ kind: 'end', endedBy: 'agent', agentId: 'a1', from: null, reason: 'done', disposition: null, now: at(8) }], taken.state).events.map((e) => e.type)).toEqual(['SessionEnded']);
    const queued = run([open]).state;
    expect(() => sessionDecider.decide({ kind: 'whisper', supervisor: 'sam', whisperId: 'w1', body: 'psst', now: at(3) }, queued)).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(() => sessionDecider.decide({ kind: 'take-over', supervisor: 'sam', displayName: 'Sam', now: at(3) }, queued)).toThrow(expect.objectContaining({ code: 'conflict' }));
  });
});

describe('canned responses decider', () => {
  const save = (cannedId: string, shortcut: string, body = 'Thanks!') => ({ kind: 'save' as const, cannedId, shortcut, title: 'T', body, by: 'sam', now: T0 });
  it('saves, updates and removes; a shortcut is unique per owner; an unchanged save stores nothing', () => {
    let state = cannedResponsesDecider.initialState();
    const apply = (events: ReturnType<typeof cannedResponsesDecider.decide>) => (state = events.reduce(cannedResponsesDecider.evolve, state));
    apply(cannedResponsesDecider.decide(save('c1', 'thanks'), state));
    expect(cannedResponsesDecider.decide(save('c1', 'thanks'), state)).toEqual([]);
    expect(() => cannedResponsesDecider.decide(save('c2', 'thanks'), state)).toThrow(expect.objectContaining({ code: 'conflict' }));
    apply(cannedResponsesDecider.decide(save('c1', 'thanks', 'Thank you!'), state));
    expect(state.responses.c1).toMatchObject({ body: 'Thank you!' });
    apply(cannedResponsesDecider.decide({ kind: 'remove', cannedId: 'c1', by: 'sam', now: T0 }, state));
    expect(state.responses).toEqual({});
    expect(() => cannedResponsesDecider.decide({ kind: 'remove', cannedId: 'c1', by: 'sam', now: T0 }, state)).toThrow(expect.objectContaining({ code: 'not-found' }));
  });
});

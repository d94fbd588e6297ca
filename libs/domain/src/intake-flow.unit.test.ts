import { describe, expect, it } from 'vitest';
import { type IntakeFlow, judgeAnswer, mergeRoute, renderQuestion, requiredAgentCapabilities } from './intake-flow.js';
import { pickText } from './localized-text.js';
import { type SessionCommand, type SessionState, sessionDecider } from './session.decider.js';

const flow: IntakeFlow = {
  id: 'support',
  defaultLocale: 'en',
  greeting: { en: 'Welcome', de: 'Willkommen' },
  retry: { en: 'Sorry?' },
  done: { en: 'Thanks' },
  maxAttempts: 2,
  fallback: { queue: 'general' },
  start: 'topic',
  questions: [
    {
      id: 'topic',
      kind: 'menu',
      prompt: { en: 'What is it about?', de: 'Worum geht es?' },
      attribute: 'topic',
      options: [
        { key: '1', label: { en: 'Billing', de: 'Rechnung' }, route: { queue: 'billing', skills: { billing: 2 } }, next: 'account' },
        { key: '2', label: { en: 'Technical support', de: 'Technik' }, route: { queue: 'tech', skills: { tech: 3 }, priority: 1 } },
      ],
    },
    { id: 'account', kind: 'text', prompt: { en: 'Account number?' }, pattern: '^[0-9]{6}$', attribute: 'account', route: { skills: { billing: 3 } } },
  ],
};
const base = { queueId: 'support', priority: 0, requirements: { skills: {}, language: 'en', capabilities: [] } };

describe('intake flows', () => {
  it('accepts menu keys and labels, re-asks a bad answer, and gives up after the allowed attempts', () => {
    expect(judgeAnswer(flow, 'topic', ' 1 ', 1)).toMatchObject({ kind: 'accepted', answer: '1', attribute: 'topic', next: 'account' });
    expect(judgeAnswer(flow, 'topic', 'technical support', 1)).toMatchObject({ kind: 'accepted', answer: '2', next: null });
    expect(judgeAnswer(flow, 'topic', '7', 1)).toEqual({ kind: 'rejected', questionId: 'topic', attempt: 1 });
    expect(judgeAnswer(flow, 'topic', '7', 2)).toEqual({ kind: 'gave-up', questionId: 'topic' });
    expect(judgeAnswer(flow, 'account', '12345', 1).kind).toBe('rejected');
    expect(judgeAnswer(flow, 'account', '123456', 1)).toMatchObject({ kind: 'accepted', attribute: 'account' });
  });

  it("renders questions in the customer's language, menus with their options", () => {
    expect(renderQuestion(flow, 'topic', 'de-AT')).toBe('Worum geht es?\n1 Rechnung, 2 Technik');
    expect(renderQuestion(flow, 'topic', 'fr')).toBe('What is it about?\n1 Billing, 2 Technical support');
    expect(pickText({ 'pt-BR': 'Olá', en: 'Hi' }, 'pt-br', 'en')).toBe('Olá');
  });

  it('merges routes: later answers override the queue and add skills', () => {
    const r = mergeRoute(mergeRoute(base, { queue: 'billing', skills: { billing: 2 } }), { skills: { billing: 3 }, capabilities: ['file-transfer'] });
    expect(r).toEqual({ queueId: 'billing', priority: 0, requirements: { skills: { billing: 3 }, language: 'en', capabilities: ['file-transfer'] } });
  });

  it('derives agent capabilities a client needs', () => {
    const rules = [
      { whenClientHas: 'file-transfer', requireAgentCapability: 'file-transfer' },
      { whenClientLacks: 'xhtml-im', requireAgentCapability: 'plain-text' },
    ];
    expect(requiredAgentCapabilities(rules, ['file-transfer', 'xhtml-im'])).toEqual(['file-transfer']);
    expect(requiredAgentCapabilities(rules, [])).toEqual(['plain-text']);
    expect(requiredAgentCapabilities(rules, null)).toEqual(['plain-text']);
  });

  it('runs a session through the flow to the queue its answers map to', () => {
    const core = { sessionId: 'S', entryPointId: 'ep', channel: 'c', customerAddress: 'a@x.test', sessionAddress: 's-S@x.test', client: null, locale: 'en', openedAt: '2026-11-21T10:00:00.000Z' };
    let state: SessionState = sessionDecider.initialState();
    const step = (c: SessionCommand) => {
      const events = sessionDecider.decide(c, state);
      state = events.reduce(sessionDecider.evolve, state);
      return events.map((e) => e.type);
    };
    expect(step({ kind: 'open', core, route: base, intake: { flowId: 'support', start: 'topic' }, notBefore: null })).toEqual(['SessionOpened', 'IntakeStarted']);
    const answer = (messageId: string, text: string) => step({ kind: 'answer-intake', flow, messageId, text, now: '2026-11-21T10:01:00.000Z' });
    expect(answer('m1', 'nine')).toEqual(['IntakeAnswerRejected']);
    expect(answer('m1', 'nine')).toEqual([]); // the same message is judged once
    expect(answer('m2', '1')).toEqual(['IntakeAnswered']);
    expect(answer('m3', '654321')).toEqual(['IntakeAnswered', 'SessionQueued']);
    expect(state).toMatchObject({
      status: 'queued',
      answers: { topic: '1', account: '654321' },
      place: { queueId: 'billing', requirements: { skills: { billing: 3 } }, arrivedAt: '2026-11-21T10:01:00.000Z' },
    });
  });

  it('applies the fallback route when the customer does not manage to answer', () => {
    const core = { sessionId: 'S', entryPointId: 'ep', channel: 'c', customerAddress: 'a@x.test', sessionAddress: 's-S@x.test', client: null, locale: 'en', openedAt: '2026-11-21T10:00:00.000Z' };
    let state: SessionState = sessionDecider.initialState();
    for (const c of [
      { kind: 'open', core, route: base, intake: { flowId: 'support', start: 'topic' }, notBefore: null },
      { kind: 'answer-intake', flow, messageId: 'm1', text: 'x', now: core.openedAt },
      { kind: 'answer-intake', flow, messageId: 'm2', text: 'y', now: core.openedAt },
    ] as SessionCommand[])
      state = sessionDecider.decide(c, state).reduce(sessionDecider.evolve, state);
    expect(state).toMatchObject({ status: 'queued', place: { queueId: 'general' } });
  });
});

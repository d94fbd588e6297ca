import { type LocalizedText, pickText } from './localized-text.js';

/** What an answer (or the fallback) contributes to routing. Later answers add to and override earlier ones. */
export interface RouteContribution {
  queue?: string;
  skills?: Readonly<Record<string, number>>;
  language?: string;
  priority?: number;
  capabilities?: readonly string[];
}

export interface MenuOption {
  key: string;
  label: LocalizedText;
  route?: RouteContribution;
  /** The next question; absent ends the flow. */
  next?: string;
}

export type IntakeQuestion =
  | { id: string; kind: 'menu'; prompt: LocalizedText; options: readonly MenuOption[]; attribute?: string }
  | { id: string; kind: 'text'; prompt: LocalizedText; pattern?: string; invalid?: LocalizedText; attribute?: string; route?: RouteContribution; next?: string };

export interface IntakeFlow {
  id: string;
  defaultLocale: string;
  greeting: LocalizedText;
  /** Said when an answer is not understood, before the question is asked again. */
  retry: LocalizedText;
  /** Said when the flow ends and the customer waits for an agent. */
  done: LocalizedText;
  maxAttempts: number;
  /** The route when a question was not answered within `maxAttempts`. */
  fallback: RouteContribution;
  start: string;
  questions: readonly IntakeQuestion[];
}

export interface Requirements {
  skills: Record<string, number>;
  language: string | null;
  capabilities: string[];
}

export interface RouteDecision {
  queueId: string;
  priority: number;
  requirements: Requirements;
}

export function mergeRoute(base: RouteDecision, add: RouteContribution | undefined): RouteDecision {
  if (!add) return base;
  return {
    queueId: add.queue ?? base.queueId,
    priority: add.priority ?? base.priority,
    requirements: {
      skills: { ...base.requirements.skills, ...add.skills },
      language: add.language ?? base.requirements.language,
      capabilities: [...new Set([...base.requirements.capabilities, ...(add.capabilities ?? [])])],
    },
  };
}

export type AnswerOutcome =
  | { kind: 'accepted'; questionId: string; answer: string; attribute: string; route?: RouteContribution; next: string | null }
  | { kind: 'rejected'; questionId: string; attempt: number }
  | { kind: 'gave-up'; questionId: string };

export const questionOf = (flow: IntakeFlow, id: string) => flow.questions.find((q) => q.id === id);

/** Judges one answer to the current question. `attempt` counts this answer (1 = first try). */
export function judgeAnswer(flow: IntakeFlow, questionId: string, text: string, attempt: number): AnswerOutcome {
  const q = questionOf(flow, questionId);
  if (!q) return { kind: 'gave-up', questionId };
  const answer = text.trim();
  if (q.kind === 'menu') {
    const option = q.options.find((o) => o.key.toLowerCase() === answer.toLowerCase() || Object.values(o.label).some((l) => l.toLowerCase() === answer.toLowerCase()));
    if (option) return { kind: 'accepted', questionId, answer: option.key, attribute: q.attribute ?? q.id, route: option.route, next: option.next ?? null };
  } else if (answer.length > 0 && (!q.pattern || new RegExp(q.pattern).test(answer))) {
    return { kind: 'accepted', questionId, answer, attribute: q.attribute ?? q.id, route: q.route, next: q.next ?? null };
  }
  return attempt >= flow.maxAttempts ? { kind: 'gave-up', questionId } : { kind: 'rejected', questionId, attempt };
}

/** The words of a question in the customer's locale, menu options listed as "1 Billing, 2 Technical support". */
export function renderQuestion(flow: IntakeFlow, questionId: string, locale: string | null): string {
  const q = questionOf(flow, questionId);
  if (!q) return '';
  const prompt = pickText(q.prompt, locale, flow.defaultLocale);
  if (q.kind !== 'menu') return prompt;
  return `${prompt}\n${q.options.map((o) => `${o.key} ${pickText(o.label, locale, flow.defaultLocale)}`).join(', ')}`;
}

export interface CapabilityRule {
  /** Applies to clients that declare this capability … */
  whenClientHas?: string;
  /** … or to clients that do not. */
  whenClientLacks?: string;
  /** The capability the agent must have declared. */
  requireAgentCapability: string;
}

/** Capabilities an agent must have for this client (claim 37: compatible IM software). */
export function requiredAgentCapabilities(rules: readonly CapabilityRule[], clientCapabilities: readonly string[] | null): string[] {
  const has = new Set(clientCapabilities ?? []);
  return [
    ...new Set(
      rules.filter((r) => (r.whenClientHas !== undefined && has.has(r.whenClientHas)) || (r.whenClientLacks !== undefined && !has.has(r.whenClientLacks))).map((r) => r.requireAgentCapability),
    ),
  ];
}

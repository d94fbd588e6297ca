import { Inject, Injectable } from '@nestjs/common';
import { SUBJECTS, SessionExplainRequest } from '@parley/contracts';
import type { RoutingDecisionRecord, SessionEvent } from '@parley/domain';
import { notFound } from '@parley/errors';
import { type EventStore, toDomainEvent } from '@parley/event-store';
import { EVENT_STORE, Handles } from '@parley/service-kit';

interface OfferRecord {
  offerId: string;
  agentId: string;
  at: string;
  decision: RoutingDecisionRecord | null;
  outcome: 'pending' | 'accepted' | 'rejected' | 'expired' | 'revoked';
}

/** "Why did this session go to this agent?": answered from the session's own events, the decision records included. */
@Injectable()
export class ExplainHandler {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Handles(SUBJECTS.supervisorSessionExplain, SessionExplainRequest)
  async explain(req: SessionExplainRequest) {
    const { events } = await this.store.readStream({ aggregate: 'session', id: req.sessionId });
    if (events.length === 0) throw notFound('no such session');
    const offers: OfferRecord[] = [];
    const timeline: { at: string; type: string; summary: string }[] = [];
    for (const stored of events) {
      const e = toDomainEvent<SessionEvent>(stored);
      timeline.push({ at: stored.metadata.at, type: e.type, summary: summarize(e) });
      if (e.type === 'SessionOffered') offers.push({ offerId: e.data.offerId, agentId: e.data.agentId, at: e.data.at, decision: e.data.decision ?? null, outcome: 'pending' });
      const offer = 'offerId' in e.data ? offers.find((o) => o.offerId === (e.data as { offerId: string }).offerId) : undefined;
      if (offer && e.type === 'SessionAssigned') offer.outcome = 'accepted';
      if (offer && e.type === 'SessionOfferDeclined') offer.outcome = e.data.outcome;
    }
    return { sessionId: req.sessionId, offers, timeline };
  }
}

/** A line a supervisor can read; message bodies stay out of it. */
function summarize(e: SessionEvent): string {
  switch (e.type) {
    case 'SessionOpened':
      return `opened on ${e.data.channel}${e.data.client ? ` from ${e.data.client.name} ${e.data.client.version}` : ''}`;
    case 'SessionQueued':
      return `queued in ${e.data.queueId} (priority ${e.data.priority})`;
    case 'IntakeStarted':
      return `intake flow ${e.data.flowId}`;
    case 'IntakeAnswered':
      return `answered ${e.data.attribute}: ${e.data.answer}`;
    case 'IntakeAnswerRejected':
      return `answer to ${e.data.questionId} not understood (try ${e.data.attempt})`;
    case 'IntakeGaveUp':
      return `intake fallback after ${e.data.questionId}`;
    case 'CustomerMessageReceived':
      return 'customer wrote';
    case 'SessionOffered':
      return `offered to ${e.data.agentId}${e.data.decision ? `: ${e.data.decision.rule}; ${e.data.decision.tieBreak}` : ''}`;
    case 'SessionOfferDeclined':
      return `offer to ${e.data.agentId} ${e.data.outcome}`;
    case 'SessionAssigned':
      return `accepted by ${e.data.agentId}`;
    case 'AgentMessageSent':
      return `${e.data.agentId} wrote`;
    case 'SessionTransferred':
      return `transferred by ${e.data.fromAgentId} to ${e.data.toAgentId ?? `queue ${e.data.toQueueId}`}`;
    case 'SessionIdleWarned':
      return `silent since ${e.data.idleSince}: ${e.data.recipient} asked, ends at ${e.data.endsAt}`;
    case 'SessionEnded':
      return `ended by ${e.data.endedBy}${e.data.abandoned ? ' (abandoned)' : ''}${e.data.disposition ? `, disposition ${e.data.disposition}` : ''}`;
    default: {
      const never: never = e;
      return String((never as { type: string }).type);
    }
  }
}

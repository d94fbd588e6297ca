import { type SessionEvent, type SessionState, sessionDecider } from '@parley/domain';
import type { StreamView } from '@parley/service-kit';

export interface TranscriptLine {
  eventId: string;
  author: 'customer' | 'agent';
  body: string;
}

/**
 * What buffer keeps of a session to deliver it: the session's state, the name of the agent who holds it, and the
 * conversation since the session was first queued (what the customer wrote while waiting and what was said
 * with earlier agents), so an agent who accepts gets the backlog without the stream being read.
 */
export interface Conversation {
  session: SessionState;
  agentName: string | null;
  queued: boolean;
  lines: TranscriptLine[];
}

export const conversationView: StreamView<Conversation, SessionEvent> = {
  aggregate: 'session',
  initialState: () => ({ session: sessionDecider.initialState(), agentName: null, queued: false, lines: [] }),
  evolve(state, event, stored) {
    const session = sessionDecider.evolve(state.session, event);
    switch (event.type) {
      case 'SessionQueued':
        return { ...state, session, queued: true };
      case 'SessionAssigned':
        return { ...state, session, agentName: event.data.agentName ?? null };
      case 'CustomerMessageReceived':
      case 'AgentMessageSent':
        // Intake answers reach the agent as the offer's answers, not as chat lines.
        if (!state.queued) return { ...state, session };
        return { ...state, session, lines: [...state.lines, { eventId: stored.id, author: event.type === 'AgentMessageSent' ? 'agent' : 'customer', body: event.data.body }] };
      case 'SessionEnded':
        // No agent accepts an ended session, so its transcript is never delivered again: not kept in memory, where
        // the thousands of recently ended sessions a contact center has would make every full collection longer.
        return { ...state, session, lines: [] };
      default:
        return { ...state, session };
    }
  },
};

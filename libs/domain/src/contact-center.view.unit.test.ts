import { describe, expect, it } from 'vitest';
import { applyToView, emptyView, strayConversations } from './contact-center.view.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 21, 20, 58, s)).toISOString();
const profile = { displayName: 'A', kind: 'human', skills: {}, languages: ['en'], capacity: 2, capabilities: [], queues: ['ha'] };

/** One agent logged in and one session assigned to them, as the log has it. */
function assignedSession() {
  const view = emptyView();
  const apply = (aggregate: string, aggregateId: string, type: string, data: unknown) => applyToView(view, { aggregate, aggregateId, type, data });
  apply('agent', 'a0', 'AgentLoggedIn', { profile, leaseSeconds: 600, expiresAt: at(59), at: at(0) });
  apply('session', 's1', 'SessionOpened', { sessionId: 's1', entryPointId: 'ep', channel: 'web', customerAddress: 'c', sessionAddress: 's', client: null, locale: null, openedAt: at(1) });
  apply('session', 's1', 'SessionQueued', { queueId: 'ha', priority: 0, arrivedAt: at(1), notBefore: null });
  apply('agent', 'a0', 'AgentOfferReserved', { offerId: 'o1', sessionId: 's1', expiresAt: at(30) });
  apply('session', 's1', 'SessionOffered', { offerId: 'o1', agentId: 'a0', expiresAt: at(30), at: at(2) });
  apply('session', 's1', 'SessionAssigned', { offerId: 'o1', agentId: 'a0', at: at(3) });
  return { view, apply };
}

describe('strayConversations', () => {
  it('finds none while the session is assigned to the agent, nor once the end reached the agent', () => {
    const { view, apply } = assignedSession();
    apply('agent', 'a0', 'AgentConversationStarted', { sessionId: 's1', offerId: 'o1' });
    expect(strayConversations(view)).toEqual([]);
    apply('session', 's1', 'SessionEnded', { endedBy: 'customer', reason: 'customer-left', disposition: null, abandoned: false, agentId: 'a0', at: at(9) });
    apply('agent', 'a0', 'AgentConversationEnded', { sessionId: 's1', at: at(9), wrapUpUntil: null });
    expect(strayConversations(view)).toEqual([]);
  });

  it('finds a conversation whose start landed after its session ended (the end found nothing to end)', () => {
    // The order a rehearsal's event log showed during a cluster restart: SessionEnded at 09.257, and the
    // agent's AgentConversationStarted for the same session at 10.015.
    const { view, apply } = assignedSession();
    apply('session', 's1', 'SessionEnded', { endedBy: 'customer', reason: 'customer-left', disposition: null, abandoned: false, agentId: 'a0', at: at(9) });
    apply('agent', 'a0', 'AgentConversationStarted', { sessionId: 's1', offerId: 'o1' });
    expect(strayConversations(view)).toEqual([{ agentId: 'a0', sessionId: 's1' }]);
  });

  it("finds a conversation left on the agent who transferred the session, until the transfer's follow-up ends it", () => {
    const { view, apply } = assignedSession();
    apply('agent', 'a0', 'AgentConversationStarted', { sessionId: 's1', offerId: 'o1' });
    apply('session', 's1', 'SessionTransferred', { fromAgentId: 'a0', toQueueId: 'ha', toAgentId: null, reason: null, at: at(5) });
    expect(strayConversations(view)).toEqual([{ agentId: 'a0', sessionId: 's1' }]);
    apply('agent', 'a0', 'AgentConversationEnded', { sessionId: 's1', at: at(5), wrapUpUntil: null });
    expect(strayConversations(view)).toEqual([]);
  });
});

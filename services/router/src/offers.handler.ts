import { Injectable } from '@nestjs/common';
import { AgentTransferRequest, OfferAcceptRequest, OfferRejectRequest, SUBJECTS } from '@parley/contracts';
import { agentAggregate, sessionAggregate } from '@parley/domain';
import { invalidPayload, notFound } from '@parley/errors';
import { CommandHandler } from '@parley/event-store';
import { Handles, type RequestContext, commandContext } from '@parley/service-kit';
import { RoutingViewService } from './routing-view.service.js';

/** An agent's answer to an offer, and transfers. The agent's own stream says which session an offer was for. */
@Injectable()
export class OffersHandler {
  constructor(
    private readonly commands: CommandHandler,
    private readonly view: RoutingViewService,
  ) {
    // Router sees every session and agent event: their states are followed from the first one.
    commands.track(sessionAggregate);
    commands.track(agentAggregate);
  }

  /** The agent's state (kept current from the events this router consumes) names the session of an open offer. */
  private async sessionOf(agentId: string, offerId: string): Promise<string> {
    const { state } = await this.commands.load(agentAggregate.stream(agentId));
    const reserved = state.status === 'available' || state.status === 'away' ? state.reservations.find((r) => r.offerId === offerId) : undefined;
    if (reserved) return reserved.sessionId;
    // An offer already answered (a retried accept): its reservation is gone, only the history knows it.
    const { events } = await this.commands.store.readStream({ aggregate: 'agent', id: agentId });
    for (const e of events) {
      if (e.type === 'AgentOfferReserved' && (e.data as { offerId: string }).offerId === offerId) return (e.data as { sessionId: string }).sessionId;
    }
    throw notFound('no offer with this id for this agent', { offerId });
  }

  @Handles(SUBJECTS.agentOfferAccept, OfferAcceptRequest)
  async accept(req: OfferAcceptRequest, ctx: RequestContext) {
    const sessionId = await this.sessionOf(req.agentId, req.offerId);
    await this.commands.handle(
      sessionAggregate.stream(sessionId),
      { kind: 'accept-offer', offerId: req.offerId, agentId: req.agentId, agentName: this.displayNameOf(req.agentId), now: ctx.now },
      commandContext(ctx.now, `agent:${req.agentId}`, `accept-${req.offerId}`),
    );
    return { sessionId };
  }

  @Handles(SUBJECTS.agentOfferReject, OfferRejectRequest)
  async reject(req: OfferRejectRequest, ctx: RequestContext) {
    const sessionId = await this.sessionOf(req.agentId, req.offerId);
    await this.commands.handle(
      sessionAggregate.stream(sessionId),
      { kind: 'decline-offer', offerId: req.offerId, agentId: req.agentId, outcome: 'rejected', reason: req.reason ?? null, now: ctx.now },
      commandContext(ctx.now, `agent:${req.agentId}`, `reject-${req.offerId}`),
    );
    return {};
  }

  /** Hands the session to another queue or agent; it keeps its history and its original arrival. */
  @Handles(SUBJECTS.agentTransfer, AgentTransferRequest)
  async transfer(req: AgentTransferRequest, ctx: RequestContext) {
    if (!req.toQueueId === !req.toAgentId) {
      const fields = { toQueueId: ['give exactly one of toQueueId and toAgentId'], toAgentId: ['give exactly one of toQueueId and toAgentId'] };
      throw invalidPayload('invalid fields: toQueueId, toAgentId', { fields });
    }
    await this.commands.handle(
      sessionAggregate.stream(req.sessionId),
      { kind: 'transfer', agentId: req.agentId, toQueueId: req.toQueueId ?? null, toAgentId: req.toAgentId ?? null, reason: req.reason ?? null, now: ctx.now },
      commandContext(ctx.now, `agent:${req.agentId}`),
    );
    return { sessionId: req.sessionId };
  }

  /** The name the agent shows customers, recorded on the assignment so deliveries need no lookup. */
  private displayNameOf(agentId: string): string | undefined {
    const agent = this.view.runner.state.agents[agentId];
    return agent && agent.status !== 'unknown' ? agent.profile.displayName : undefined;
  }
}

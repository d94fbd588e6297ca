import { Injectable } from '@nestjs/common';
import { OfferAcceptRequest, OfferRejectRequest, SUBJECTS } from '@parley/contracts';
import { sessionDecider } from '@parley/domain';
import { notFound } from '@parley/errors';
import { CommandHandler } from '@parley/event-store';
import { Handles, type RequestContext, commandContext } from '@parley/service-kit';

/** An agent's answer to an offer. The agent's own stream says which session an offer was for. */
@Injectable()
export class OffersHandler {
  constructor(private readonly commands: CommandHandler) {}

  private async sessionOf(agentId: string, offerId: string): Promise<string> {
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
      sessionDecider,
      { aggregate: 'session', id: sessionId },
      { kind: 'accept-offer', offerId: req.offerId, agentId: req.agentId, now: ctx.now },
      commandContext(ctx.now, `agent:${req.agentId}`, `accept-${req.offerId}`),
    );
    return { sessionId };
  }

  @Handles(SUBJECTS.agentOfferReject, OfferRejectRequest)
  async reject(req: OfferRejectRequest, ctx: RequestContext) {
    const sessionId = await this.sessionOf(req.agentId, req.offerId);
    await this.commands.handle(
      sessionDecider,
      { aggregate: 'session', id: sessionId },
      { kind: 'decline-offer', offerId: req.offerId, agentId: req.agentId, outcome: 'rejected', reason: req.reason ?? null, now: ctx.now },
      commandContext(ctx.now, `agent:${req.agentId}`, `reject-${req.offerId}`),
    );
    return {};
  }
}

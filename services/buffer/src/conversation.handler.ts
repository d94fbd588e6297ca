import { Injectable } from '@nestjs/common';
import { AgentMessageRequest, AgentSessionEndRequest, CustomerMessageRequest, SUBJECTS, StatusReportRequest, UnsubscribeRequest } from '@parley/contracts';
import { describeWaitRange, sessionAggregate } from '@parley/domain';
import { notFound } from '@parley/errors';
import { CommandHandler, type StreamId } from '@parley/event-store';
import { DeliveryPublisher, Handles, type RequestContext, commandContext } from '@parley/service-kit';
import { DELIVERIES_CONSUMER } from './delivery.process-manager.js';
import { sessionIdOf, sessionStream } from './session-streams.js';

/**
 * For this long after a transfer, a status waits until the deliveries' follow-up has handled the session's events
 * (the transfer notice among them); past it, the follow-up has long done so, or is stuck and the status goes anyway.
 */
const TRANSFER_NOTICE_FIRST_MS = 60_000;

/** What the status path needs of the consumers' progress (the ConsumerSupervisor; a stand-in in unit tests). */
export abstract class ConsumerProgress {
  abstract handledThrough(consumer: string, stream: StreamId): Promise<number>;
}

const ordinal = (n: number) => {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th');
  return `${n}${suffix}`;
};

const waitText = (req: StatusReportRequest) => {
  const wait =
    req.lowSeconds !== undefined && req.highSeconds !== undefined
      ? describeWaitRange({ seconds: req.estimatedWaitSeconds, lowSeconds: req.lowSeconds, highSeconds: req.highSeconds, basis: 'drain' })
      : req.estimatedWaitSeconds < 60
        ? 'under a minute'
        : `about ${Math.round(req.estimatedWaitSeconds / 60)} min`;
  const why = req.reason === 'priority' ? ' A customer with an urgent request was placed ahead of you.' : '';
  return `You are ${ordinal(req.position + 1)} in the queue. Estimated wait: ${wait}.${why}`;
};

/** The conversation of a session: every message is an event on its stream, the durable message queue. */
@Injectable()
export class ConversationHandler {
  constructor(
    private readonly commands: CommandHandler,
    private readonly deliveries: DeliveryPublisher,
    private readonly progress: ConsumerProgress,
  ) {
    // Sessions are followed from their first event (buffer consumes them all), so commands on them need no read.
    commands.track(sessionAggregate);
  }

  @Handles(SUBJECTS.imMessage, CustomerMessageRequest)
  async customerMessage(req: CustomerMessageRequest, ctx: RequestContext) {
    const sessionId = sessionIdOf(req.to);
    await this.commands.handle(
      sessionStream(sessionId),
      { kind: 'receive-customer-message', channel: req.channel, from: req.from, messageId: req.messageId, body: req.body, now: ctx.now },
      commandContext(ctx.now, 'customer', `customer-message:${sessionId}:${req.messageId}`),
    );
    return { sessionId, accepted: true };
  }

  @Handles(SUBJECTS.imUnsubscribe, UnsubscribeRequest)
  async unsubscribe(req: UnsubscribeRequest, ctx: RequestContext) {
    const sessionId = sessionIdOf(req.to);
    const { state } = await this.commands.handle(
      sessionStream(sessionId),
      { kind: 'end', endedBy: 'customer', agentId: null, from: req.from, channel: req.channel, reason: 'customer-left', disposition: null, now: ctx.now },
      commandContext(ctx.now, 'customer'),
    );
    return { sessionId, state: state.status === 'ended' && state.abandoned ? 'abandoned' : state.status };
  }

  @Handles(SUBJECTS.agentMessage, AgentMessageRequest)
  async agentMessage(req: AgentMessageRequest, ctx: RequestContext) {
    await this.commands.handle(
      sessionStream(req.sessionId),
      { kind: 'send-agent-message', agentId: req.agentId, messageId: req.messageId, body: req.body, now: ctx.now },
      commandContext(ctx.now, `agent:${req.agentId}`, `agent-message:${req.sessionId}:${req.messageId}`),
    );
    return { accepted: true };
  }

  @Handles(SUBJECTS.agentSessionEnd, AgentSessionEndRequest)
  async agentEnd(req: AgentSessionEndRequest, ctx: RequestContext) {
    await this.commands.handle(
      sessionStream(req.sessionId),
      { kind: 'end', endedBy: 'agent', agentId: req.agentId, from: null, reason: 'agent-ended', disposition: req.disposition ?? null, now: ctx.now },
      commandContext(ctx.now, `agent:${req.agentId}`),
    );
    return {};
  }

  /** Reporting's status report for one waiting customer, readdressed here to the customer's own address. */
  @Handles(SUBJECTS.bufferStatus, StatusReportRequest)
  async status(req: StatusReportRequest, ctx: RequestContext) {
    // Verified: reporting may have seen the session queued before this process did, or assigned, transferred or
    // ended after it (an instance standing by follows no events): a status goes only to a customer still waiting.
    const { state, version } = await this.commands.load(sessionStream(req.sessionId), { verify: true });
    if (state.status === 'none') throw notFound('no such session');
    if (state.status !== 'queued') return { delivered: false };
    // Reporting can see a transferred session back in a queue before the deliveries' follow-up has told its customer
    // "You are being transferred" (and relayed the agent's last words): a position must not come first. Not
    // delivered yet, then: reporting tries again on its next pass.
    const transferredAt = state.place.transferredAt;
    if (transferredAt && Date.parse(ctx.now) - Date.parse(transferredAt) < TRANSFER_NOTICE_FIRST_MS) {
      // Not known (a NATS fault): held back like a follow-up that is behind, for at most the minute above.
      const handled = await this.progress.handledThrough(DELIVERIES_CONSUMER, { aggregate: sessionAggregate.name, id: req.sessionId }).catch(() => 0);
      if (handled < version) return { delivered: false };
    }
    await this.deliveries.toCustomer(state.core.channel, {
      deliveryId: req.statusId,
      sessionId: req.sessionId,
      to: state.core.customerAddress,
      from: state.core.sessionAddress,
      kind: 'status',
      body: waitText(req),
      status: {
        position: req.position,
        estimatedWaitSeconds: req.estimatedWaitSeconds,
        ...(req.lowSeconds !== undefined && req.highSeconds !== undefined ? { lowSeconds: req.lowSeconds, highSeconds: req.highSeconds } : {}),
        ...(req.reason ? { reason: req.reason } : {}),
      },
    });
    return { delivered: true };
  }
}

import { Injectable } from '@nestjs/common';
import { AgentNoteRequest, SUBJECTS, SessionRateRequest, SupervisorMessageRequest, SupervisorTakeOverRequest, SupervisorWhisperRequest } from '@parley/contracts';
import { CommandHandler } from '@parley/event-store';
import { Handles, type RequestContext, commandContext } from '@parley/service-kit';
import { sessionIdOf, sessionStream } from './session-streams.js';

/**
 * What people around a conversation add to it: the customer's rating, the agent's internal notes, a supervisor's
 * whisper to the agent, take-over and messages. Each is an event on the session's stream, decided by the session
 * decider; the IDs given make retries idempotent.
 */
@Injectable()
export class SessionExtrasHandler {
  constructor(private readonly commands: CommandHandler) {}

  @Handles(SUBJECTS.sessionRate, SessionRateRequest)
  async rate(req: SessionRateRequest, ctx: RequestContext) {
    const sessionId = sessionIdOf(req.to);
    await this.commands.handle(
      sessionStream(sessionId),
      { kind: 'rate', channel: req.channel, from: req.from, ratingId: req.ratingId, score: req.score, comment: req.comment ?? null, now: ctx.now },
      commandContext(ctx.now, 'customer', `rating:${sessionId}:${req.ratingId}`),
    );
    return { sessionId, rated: true };
  }

  @Handles(SUBJECTS.agentNote, AgentNoteRequest)
  async note(req: AgentNoteRequest, ctx: RequestContext) {
    await this.commands.handle(
      sessionStream(req.sessionId),
      { kind: 'add-note', agentId: req.agentId, noteId: req.noteId, body: req.body, now: ctx.now },
      commandContext(ctx.now, `agent:${req.agentId}`, `note:${req.sessionId}:${req.noteId}`),
    );
    return { accepted: true };
  }

  @Handles(SUBJECTS.supervisorWhisper, SupervisorWhisperRequest)
  async whisper(req: SupervisorWhisperRequest, ctx: RequestContext) {
    await this.commands.handle(
      sessionStream(req.sessionId),
      { kind: 'whisper', supervisor: req.supervisor, whisperId: req.whisperId, body: req.body, now: ctx.now },
      commandContext(ctx.now, `supervisor:${req.supervisor}`, `whisper:${req.sessionId}:${req.whisperId}`),
    );
    return { accepted: true };
  }

  @Handles(SUBJECTS.supervisorTakeOver, SupervisorTakeOverRequest)
  async takeOver(req: SupervisorTakeOverRequest, ctx: RequestContext) {
    await this.commands.handle(
      sessionStream(req.sessionId),
      { kind: 'take-over', supervisor: req.supervisor, displayName: req.displayName, now: ctx.now },
      commandContext(ctx.now, `supervisor:${req.supervisor}`, `take-over:${req.sessionId}:${req.supervisor}`),
    );
    return { accepted: true };
  }

  @Handles(SUBJECTS.supervisorMessage, SupervisorMessageRequest)
  async supervisorMessage(req: SupervisorMessageRequest, ctx: RequestContext) {
    await this.commands.handle(
      sessionStream(req.sessionId),
      { kind: 'send-supervisor-message', supervisor: req.supervisor, displayName: req.displayName, messageId: req.messageId, body: req.body, now: ctx.now },
      commandContext(ctx.now, `supervisor:${req.supervisor}`, `supervisor-message:${req.sessionId}:${req.messageId}`),
    );
    return { accepted: true };
  }
}

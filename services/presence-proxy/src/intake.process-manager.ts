import { Inject, Injectable } from '@nestjs/common';
import type { CenterSettings } from '@parley/center-config';
import { type IntakeFlow, type SessionEvent, type SessionEventOf, type SessionState, pickText, renderQuestion, sessionAggregate, sessionDecider } from '@parley/domain';
import { CommandHandler } from '@parley/event-store';
import { CENTER_SETTINGS, type Consumed, DeliveryPublisher, EventConsumer, On, type StreamView, commandContext } from '@parley/service-kit';

/** A flow that is no longer in the file: any answer ends the intake on the route chosen so far. */
const retired = (id: string): IntakeFlow => ({ id, defaultLocale: 'en', greeting: {}, retry: {}, done: {}, maxAttempts: 1, fallback: {}, start: '', questions: [] });

/** The session, and the flow its intake ran (still known once the session is queued, for the closing words). */
export interface IntakeView {
  session: SessionState;
  flowId: string | null;
}

export const intakeView: StreamView<IntakeView, SessionEvent> = {
  aggregate: 'session',
  initialState: () => ({ session: sessionDecider.initialState(), flowId: null }),
  evolve: (state, event) => ({ session: sessionDecider.evolve(state.session, event), flowId: event.type === 'IntakeStarted' ? event.data.flowId : state.flowId }),
};

type Live = Exclude<SessionState, { status: 'none' | 'ended' }>;

/**
 * The pre-routing interaction over IM (second seed, claims 31 d-e and 36): greets the customer, asks the flow's
 * questions, judges each answer (re-asking a bad one), and queues the session on the route the answers map to.
 * Driven by session events, so a restart resumes exactly where the conversation was.
 */
@Injectable()
@EventConsumer('presence-proxy-intake')
export class IntakeProcessManager {
  constructor(
    @Inject(CENTER_SETTINGS) private readonly center: CenterSettings,
    private readonly commands: CommandHandler,
    private readonly deliveries: DeliveryPublisher,
  ) {}

  private flowOf(view: IntakeView): IntakeFlow | undefined {
    return view.flowId ? (this.center.flow(view.flowId) ?? retired(view.flowId)) : undefined;
  }

  private say(session: Live, eventId: string, body: string): Promise<void> {
    return this.deliveries.toCustomer(session.core.channel, {
      deliveryId: `${eventId}.intake`,
      sessionId: session.core.sessionId,
      to: session.core.customerAddress,
      from: session.core.sessionAddress,
      kind: 'system',
      body,
    });
  }

  @On(intakeView, 'IntakeStarted', 'IntakeAnswered', 'IntakeAnswerRejected')
  async asked(e: SessionEventOf<'IntakeStarted' | 'IntakeAnswered' | 'IntakeAnswerRejected'>, { state, stored }: Consumed<IntakeView>): Promise<void> {
    const session = state.session;
    const flow = this.flowOf(state);
    if (session.status === 'none' || session.status === 'ended' || !flow) return;
    const locale = session.core.locale;
    switch (e.type) {
      case 'IntakeStarted':
        return this.say(session, stored.id, `${pickText(flow.greeting, locale, flow.defaultLocale)}\n${renderQuestion(flow, e.data.questionId, locale)}`);
      case 'IntakeAnswered':
        if (e.data.next) await this.say(session, stored.id, renderQuestion(flow, e.data.next, locale));
        return;
      case 'IntakeAnswerRejected':
        return this.say(session, stored.id, `${pickText(flow.retry, locale, flow.defaultLocale)}\n${renderQuestion(flow, e.data.questionId, locale)}`);
    }
  }

  /** A message during the intake is an answer to the question asked. */
  @On(intakeView, 'CustomerMessageReceived')
  async answered(e: SessionEventOf<'CustomerMessageReceived'>, { state, stored }: Consumed<IntakeView>): Promise<void> {
    const session = state.session;
    if (session.status !== 'intake') return;
    const current = this.center.flow(session.intake.flowId) ?? retired(session.intake.flowId);
    const command = { kind: 'answer-intake', flow: current, messageId: e.data.messageId, text: e.data.body, now: stored.metadata.at } as const;
    // The closing words go out before the session is queued, so they reach the customer before any queue status
    // (reporting reacts to SessionQueued; deliveries reach the customer in the order they are published).
    if (sessionDecider.decide(command, session).some((x) => x.type === 'SessionQueued')) {
      await this.say(session, stored.id, pickText(current.done, session.core.locale, current.defaultLocale));
    }
    await this.commands.handle(
      sessionAggregate.stream(session.core.sessionId),
      command,
      commandContext(stored.metadata.at, 'system:presence-proxy', `intake:${stored.id}`, stored.metadata.correlationId),
    );
  }

  @On(intakeView, 'SessionQueued')
  async queued(e: SessionEventOf<'SessionQueued'>, { state, stored }: Consumed<IntakeView>): Promise<void> {
    const session = state.session;
    if (session.status === 'none' || session.status === 'ended') return;
    // A session queued by its last intake answer had its closing words before it (see `answered`).
    if (e.data.notBefore) {
      await this.say(session, stored.id, `Thank you. We will answer when we open (${e.data.notBefore}). Write your message now; it waits for the first agent.`);
    }
  }
}

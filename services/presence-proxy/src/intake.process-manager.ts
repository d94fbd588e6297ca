import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { CenterSettings } from '@parley/center-config';
import { type IntakeFlow, type SessionEvent, pickText, renderQuestion, sessionDecider } from '@parley/domain';
import { CommandHandler, type EventStore, type StoredEvent, foldEvents, toDomainEvent } from '@parley/event-store';
import { CENTER_SETTINGS, ConsumerSupervisor, DeliveryPublisher, EVENT_STORE, commandContext } from '@parley/service-kit';

/** A flow that is no longer in the file: any answer ends the intake on the route chosen so far. */
const retired = (id: string): IntakeFlow => ({ id, defaultLocale: 'en', greeting: {}, retry: {}, done: {}, maxAttempts: 1, fallback: {}, start: '', questions: [] });

/**
 * The pre-routing interaction over IM (second seed, claims 31 d-e and 36): greets the customer, asks the flow's
 * questions, judges each answer (re-asking a bad one), and queues the session on the route the answers map to.
 * Driven by session events, so a restart resumes exactly where the conversation was.
 */
@Injectable()
export class IntakeProcessManager implements OnApplicationBootstrap {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CENTER_SETTINGS) private readonly center: CenterSettings,
    private readonly commands: CommandHandler,
    private readonly consumers: ConsumerSupervisor,
    private readonly deliveries: DeliveryPublisher,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.consumers.start('presence-proxy-intake', 'session', (event) => this.handle(event));
  }

  async handle(event: StoredEvent): Promise<void> {
    const e = toDomainEvent<SessionEvent>(event);
    if (!['IntakeStarted', 'IntakeAnswered', 'IntakeAnswerRejected', 'CustomerMessageReceived', 'SessionQueued'].includes(e.type)) return;
    const { events } = await this.store.readStream({ aggregate: 'session', id: event.aggregateId });
    const state = foldEvents(sessionDecider, events, event.position);
    if (state.status === 'none' || state.status === 'ended') return;
    const started = events.find((x) => x.position <= event.position && x.type === 'IntakeStarted');
    const flowId = started ? (started.data as { flowId: string }).flowId : undefined;
    const flow = flowId ? (this.center.flow(flowId) ?? retired(flowId)) : undefined;
    const locale = state.core.locale;
    const say = (body: string) =>
      this.deliveries.toCustomer(state.core.channel, {
        deliveryId: `${event.id}.intake`,
        sessionId: state.core.sessionId,
        to: state.core.customerAddress,
        from: state.core.sessionAddress,
        kind: 'system',
        body,
      });
    switch (e.type) {
      case 'IntakeStarted':
        if (flow) await say(`${pickText(flow.greeting, locale, flow.defaultLocale)}\n${renderQuestion(flow, e.data.questionId, locale)}`);
        return;
      case 'IntakeAnswered':
        if (flow && e.data.next) await say(renderQuestion(flow, e.data.next, locale));
        return;
      case 'IntakeAnswerRejected':
        if (flow) await say(`${pickText(flow.retry, locale, flow.defaultLocale)}\n${renderQuestion(flow, e.data.questionId, locale)}`);
        return;
      case 'CustomerMessageReceived': {
        if (state.status !== 'intake') return;
        const current = this.center.flow(state.intake.flowId) ?? retired(state.intake.flowId);
        const command = { kind: 'answer-intake', flow: current, messageId: e.data.messageId, text: e.data.body, now: event.metadata.at } as const;
        // The closing words go out before the session is queued, so they reach the customer before any queue
        // status (reporting reacts to SessionQueued; deliveries reach the customer in the order they are published).
        if (sessionDecider.decide(command, state).some((x) => x.type === 'SessionQueued')) await say(pickText(current.done, locale, current.defaultLocale));
        await this.commands.handle(
          sessionDecider,
          { aggregate: 'session', id: state.core.sessionId },
          command,
          commandContext(event.metadata.at, 'system:presence-proxy', `intake:${event.id}`, event.metadata.correlationId),
        );
        return;
      }
      case 'SessionQueued':
        // A queued session with a flow was queued by its last intake answer, whose closing words went out before it.
        if (e.data.notBefore) {
          await say(`Thank you. We will answer when we open${e.data.notBefore ? ` (${e.data.notBefore})` : ''}. Write your message now; it waits for the first agent.`);
        }
        return;
      default:
        return;
    }
  }
}

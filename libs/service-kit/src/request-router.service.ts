import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { BOUND_SUBJECTS } from '@parley/contracts';
import { ParleyError, forbidden, invalidPayload, toParleyError, unavailable } from '@parley/errors';
import { isJetStreamUnavailable } from '@parley/event-store';
import { plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import { HANDLES_METADATA, type HandlesOptions, type RequestContext } from './handles.decorator.js';
import { CLOCK, type Clock } from './clock.js';
import { MetricsService } from './metrics.service.js';
import { checkPayloadShape, decodeJsonBody } from './payload-guard.js';
import { NATS_CONNECTION, SERVICE_NAME } from './tokens.js';
import { annotateAnswer, tracedAnswer, tracingEnabled } from './tracing.js';

type Handler = (payload: object, context: RequestContext) => Promise<unknown> | unknown;

const fieldErrors = (errors: ValidationError[], prefix = ''): Record<string, string[]> =>
  Object.assign(
    {},
    ...errors.map((e) => {
      const path = prefix ? `${prefix}.${e.property}` : e.property;
      return { ...(e.constraints ? { [path]: Object.values(e.constraints) } : {}), ...fieldErrors(e.children ?? [], path) };
    }),
  );

/** Parses and validates a request body; a failure is `invalid-payload` naming every offending field. */
export async function parsePayload<T extends object>(cls: new () => T, data: Uint8Array): Promise<T> {
  return validatePayload(cls, decodeJsonBody(data));
}

/**
 * Validates an already parsed body (an HTTP request's) the same way. Depth, size and reserved keys are checked
 * before class-transformer walks the body, so no input reaches a recursion limit or a prototype.
 */
export async function validatePayload<T extends object>(cls: new () => T, raw: unknown): Promise<T> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidPayload('the request body must be a JSON object');
  checkPayloadShape(raw);
  const payload = plainToInstance(cls, raw);
  const errors = await validate(payload, { whitelist: true, forbidUnknownValues: false });
  if (errors.length > 0) {
    const fields = fieldErrors(errors);
    throw invalidPayload(`invalid fields: ${Object.keys(fields).join(', ')}`, { fields });
  }
  return payload;
}

/** A subject token a handler reads (`stats.queue.<queueId>`) is an ID of the contract, like any ID field. */
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** Every token that fills a `*` of the served pattern must be a valid ID; otherwise the request is `invalid-payload`. */
export function checkSubjectTokens(pattern: string, subject: string): void {
  const wanted = pattern.split('.');
  const given = subject.split('.');
  wanted.forEach((token, i) => {
    if (token === '*' && !SUBJECT_TOKEN.test(given[i] ?? '')) {
      throw invalidPayload('invalid fields: subject', { fields: { subject: [`subject token ${i + 1} must be 1-64 characters of letters, digits, "-" or "_"`] } });
    }
  });
}

/**
 * Serves every `@Handles` method over core NATS request/reply with a queue group per service, replying plain
 * JSON (no framework envelope) as the contract requires. Errors leave as `{"error": {code, message, details}}`.
 */
@Injectable()
export class RequestRouter implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RequestRouter');
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  readonly subjects: string[] = [];

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_NAME) private readonly service: string,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly metrics: MetricsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const proto = Object.getPrototypeOf(instance) as object;
      for (const name of this.scanner.getAllMethodNames(proto)) {
        const method = instance[name] as Handler;
        const options = this.reflector.get<HandlesOptions | undefined>(HANDLES_METADATA, method);
        if (options) this.serve(options, method.bind(instance));
      }
    }
  }

  private serve(options: HandlesOptions, handler: Handler): void {
    this.listen(options, handler, options.subject);
    // The same request on the subject that names its actor: the payload must name the same one.
    const bound = BOUND_SUBJECTS[options.subject];
    if (bound) this.listen(options, handler, bound.subject, bound.field);
  }

  private listen(options: HandlesOptions, handler: Handler, subject: string, boundField?: string): void {
    this.subjects.push(subject);
    const sub = this.nc.subscribe(subject, {
      queue: this.service,
      callback: (err, msg) => {
        if (err) return this.logger.error({ msg: 'subscription error', subject, err: String(err) });
        const answer = () => this.answer({ ...options, subject }, handler, msg, boundField);
        const work = (tracingEnabled() ? tracedAnswer(subject, msg.subject, msg.headers, answer) : answer()).finally(() => this.inFlight.delete(work));
        this.inFlight.add(work);
      },
    });
    this.subscriptions.push(sub);
  }

  private async answer(options: HandlesOptions, handler: Handler, msg: Msg, boundField?: string): Promise<void> {
    const end = this.metrics.requestSeconds.startTimer({ subject: options.subject });
    let reply: unknown;
    let payload: object | undefined;
    let outcome = 'ok';
    try {
      checkSubjectTokens(options.subject, msg.subject);
      payload = await parsePayload(options.payload, msg.data);
      if (boundField) {
        const actor = msg.subject.split('.')[4];
        if ((payload as Record<string, unknown>)[boundField] !== actor) throw forbidden(`this subject acts for ${boundField} ${actor} only`, { field: boundField });
      }
      reply = (await handler(payload, { subject: msg.subject, now: this.clock.now() })) ?? {};
    } catch (err) {
      // NATS or JetStream not answering (a timeout, no responders, a cluster electing a leader) is "try again", not a
      // fault of Parley's: `unavailable`, as a caller's own request timeout would be.
      const fault = isJetStreamUnavailable(err);
      const error = fault ? unavailable('NATS did not answer in time; try again', undefined, err) : toParleyError(err);
      outcome = error.code;
      if (fault) this.logger.warn({ msg: 'request not served: NATS did not answer', subject: msg.subject, err: String((err as Error)?.message ?? err) });
      else if (error.code === 'internal') this.logger.error({ msg: 'request failed', subject: msg.subject, err: String((err as Error)?.stack ?? err) });
      else this.logger.debug({ msg: 'request refused', subject: msg.subject, code: error.code, reason: error.message });
      reply = { error: error.toBody() };
    }
    end();
    if (tracingEnabled()) annotateAnswer(payload, reply, outcome);
    this.metrics.requests.inc({ subject: options.subject, outcome });
    if (msg.reply) msg.respond(JSON.stringify(reply));
  }

  /** Stop taking requests, then let the ones in hand finish and answer. */
  async beforeApplicationShutdown(): Promise<void> {
    for (const sub of this.subscriptions) sub.unsubscribe();
    await Promise.allSettled([...this.inFlight]);
  }
}

export { ParleyError };

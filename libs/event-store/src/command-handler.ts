import { conflict } from '@parley/errors';
import { deriveEventId, newEventId } from './event-id.js';
import {
  type EventMetadata,
  type EventStore,
  type StoredEvent,
  type StreamId,
  VersionConflictError,
} from './event-store.port.js';

/** A domain event as deciders produce it: the type is the discriminant, data the payload. */
export interface DomainEvent {
  readonly type: string;
  readonly data: object;
}

/** One decider per aggregate: pure functions, state as a status union, time inside the command. */
export interface Decider<S, C, E extends DomainEvent> {
  initialState(): S;
  decide(command: C, state: S): readonly E[];
  evolve(state: S, event: E): S;
}

export interface CommandContext {
  /** Makes the command idempotent: the same ID produces the same event IDs, which the store deduplicates. */
  commandId?: string;
  metadata: Omit<EventMetadata, 'causationId'> & { causationId?: string };
}

export interface HandleResult<S, E> {
  state: S;
  events: readonly E[];
  version: number;
}

export interface CommandHandlerOptions {
  maxAttempts?: number;
  /** Schema version written for each event type; 1 when absent. */
  schemaVersions?: Readonly<Record<string, number>>;
}

export const toDomainEvent = <E extends DomainEvent>(e: StoredEvent): E => ({ type: e.type, data: e.data }) as unknown as E;

/** An aggregate's state from its stored events, up to and including `position` (all of them when absent). */
export function foldEvents<S, C, E extends DomainEvent>(decider: Decider<S, C, E>, events: readonly StoredEvent[], position = Number.POSITIVE_INFINITY): S {
  let state = decider.initialState();
  for (const e of events) {
    if (e.position > position) break;
    state = decider.evolve(state, toDomainEvent<E>(e));
  }
  return state;
}

/**
 * load → decide → append with expected version → on conflict, load again (bounded, with jittered back-off).
 * Commands on one stream within a process run one at a time, in arrival order: a burst of messages to one
 * session neither fights itself over the expected version nor changes order.
 */
export class CommandHandler {
  private readonly maxAttempts: number;
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(
    readonly store: EventStore,
    private readonly options: CommandHandlerOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 8;
  }

  private serialize<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return run;
  }

  async load<S, C, E extends DomainEvent>(decider: Decider<S, C, E>, stream: StreamId): Promise<{ state: S; version: number }> {
    const { events, version } = await this.store.readStream(stream);
    return { state: foldEvents(decider, events), version };
  }

  handle<S, C, E extends DomainEvent>(decider: Decider<S, C, E>, stream: StreamId, command: C, context: CommandContext): Promise<HandleResult<S, E>> {
    return this.serialize(`${stream.aggregate}.${stream.id}`, () => this.attempt(decider, stream, command, context));
  }

  private async attempt<S, C, E extends DomainEvent>(
    decider: Decider<S, C, E>,
    stream: StreamId,
    command: C,
    context: CommandContext,
  ): Promise<HandleResult<S, E>> {
    let lastConflict: VersionConflictError | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const { state, version } = await this.load(decider, stream);
      const events = decider.decide(command, state);
      if (events.length === 0) return { state, events, version };
      const streamKey = `${stream.aggregate}.${stream.id}`;
      const toAppend = events.map((e, i) => ({
        id: context.commandId ? deriveEventId(context.commandId, streamKey, i) : newEventId(),
        type: e.type,
        schemaVersion: this.options.schemaVersions?.[e.type] ?? 1,
        data: e.data,
        metadata: { ...context.metadata, causationId: context.metadata.causationId ?? context.commandId ?? context.metadata.correlationId },
      }));
      try {
        const appended = await this.store.append(stream, toAppend, version === 0 ? 'no-stream' : version);
        return { state: events.reduce((s, e) => decider.evolve(s, e), state), events, version: appended.version };
      } catch (err) {
        if (!(err instanceof VersionConflictError)) throw err;
        lastConflict = err;
        // Another process wrote first: let the writers spread out before reading the stream again.
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      }
    }
    throw conflict(`gave up after ${this.maxAttempts} concurrent-write conflicts`, { stream: `${stream.aggregate}.${stream.id}` }, lastConflict);
  }
}

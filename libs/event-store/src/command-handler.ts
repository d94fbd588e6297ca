import type { Aggregate, AggregateStream, Decider, DomainEvent } from '@parley/domain';
import { conflict } from '@parley/errors';
import { BoundedMap } from './bounded-map.js';
import { deriveEventId, newEventId } from './event-id.js';
import { type EventMetadata, type EventStore, type StoredEvent, type StreamId, VersionConflictError } from './event-store.port.js';

export type { Decider, DomainEvent } from '@parley/domain';

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

export interface HandleOptions {
  /** The stream was just named by the caller (a fresh random ID): decide on the initial state without reading. */
  isNew?: boolean;
  /**
   * Write only on the stream as it was at this version: one that has moved since throws VersionConflictError, with no
   * retry. For a write that must follow a check made at that version (registration's claim of an address).
   */
  atVersion?: number;
}

export interface CommandHandlerOptions {
  maxAttempts?: number;
  /** Schema version written for each event type; 1 when absent. */
  schemaVersions?: Readonly<Record<string, number>>;
  /** Aggregate states kept in memory at their versions (least recently used go first). Default 20,000. */
  cacheSize?: number;
}

export const toDomainEvent = <E extends DomainEvent>(e: StoredEvent): E => ({ type: e.type, data: e.data }) as unknown as E;

export const streamIdOf = (stream: AggregateStream<unknown, unknown, DomainEvent>): StreamId => ({ aggregate: stream.aggregate.name, id: stream.id });

/**
 * An aggregate's state from its stored events, up to and including `position` (all of them when absent). An event
 * the decider cannot evolve with (a malformed event written around the deciders) is passed over, as projections
 * pass it over: one bad event must not make its whole stream unusable. The consumers that meet it park it.
 */
export function foldEvents<S, C, E extends DomainEvent>(decider: Decider<S, C, E>, events: readonly StoredEvent[], position = Number.POSITIVE_INFINITY): S {
  let state = decider.initialState();
  for (const e of events) {
    if (e.position > position) break;
    try {
      state = decider.evolve(state, toDomainEvent<E>(e));
    } catch {
      // passed over (see above)
    }
  }
  return state;
}

interface Known {
  state: unknown;
  version: number;
  evolve: (state: unknown, event: DomainEvent) => unknown;
}

/**
 * States of aggregates at known versions, bounded (least recently used go first). An entry moves forward only
 * with the event that directly follows its version (`previousVersion`), so it is never silently behind: an
 * entry that cannot be advanced is dropped and read again on the next use.
 */
export class KnownStates {
  private readonly entries: BoundedMap<string, Known>;
  /** Aggregates whose new streams are followed from their first event (their deciders, by name). */
  private readonly tracked = new Map<string, { initial: () => unknown; evolve: Known['evolve'] }>();

  constructor(capacity = 20_000) {
    this.entries = new BoundedMap(capacity);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Known | undefined {
    return this.entries.get(key);
  }

  set(key: string, known: Known): void {
    this.entries.set(key, known);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  track(aggregate: string, decider: { initial: () => unknown; evolve: Known['evolve'] }): void {
    if (!this.tracked.has(aggregate)) this.tracked.set(aggregate, decider);
  }

  /** Moves an entry forward with a stored event of its stream, or drops it when the event does not follow it. */
  observe(event: StoredEvent): void {
    const key = `${event.aggregate}.${event.aggregateId}`;
    const known = this.entries.get(key);
    if (!known) {
      // A stream's first event: its state from here on is known without reading it.
      const tracked = event.previousVersion === 0 ? this.tracked.get(event.aggregate) : undefined;
      if (!tracked) return;
      try {
        this.set(key, { state: tracked.evolve(tracked.initial(), { type: event.type, data: event.data as object }), version: event.position, evolve: tracked.evolve });
      } catch {
        // a malformed event: this stream is read when a command needs it
      }
      return;
    }
    if (event.position <= known.version) return;
    if (event.previousVersion !== known.version) {
      this.entries.delete(key);
      return;
    }
    try {
      known.state = known.evolve(known.state, { type: event.type, data: event.data as object });
      known.version = event.position;
    } catch {
      this.entries.delete(key); // a malformed event: never keep a state it could not move forward
    }
  }
}

/**
 * load → decide → append with expected version → on conflict, load again (bounded, with jittered back-off).
 * The state comes from memory when this process knows the stream's current version (from its own appends and
 * from the events it consumes, see `observe`); the stream is read only on a miss or after a conflict.
 * Commands on one stream within a process run one at a time, in arrival order: a burst of messages to one
 * session neither fights itself over the expected version nor changes order.
 */
export class CommandHandler {
  private readonly maxAttempts: number;
  private readonly tails = new Map<string, Promise<unknown>>();
  readonly known: KnownStates;
  private appended = 0;
  private readonly appendedByAggregate = new Map<string, number>();
  private readonly stats = { hits: 0, misses: 0, conflicts: 0 };

  constructor(
    readonly store: EventStore,
    private readonly options: CommandHandlerOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.known = new KnownStates(options.cacheSize ?? 20_000);
  }

  /** The highest position this process has appended: what its own read models must reach to read their writes. */
  get lastAppendedPosition(): number {
    return this.appended;
  }

  /** The highest position this process has appended to streams of one aggregate (for filtered read models). */
  lastAppendedPositionOf(aggregate: string): number {
    return this.appendedByAggregate.get(aggregate) ?? 0;
  }

  get cacheStats(): Readonly<{ hits: number; misses: number; conflicts: number }> {
    return this.stats;
  }

  /** Keeps known states current with an event this process consumed. */
  observe(event: StoredEvent): void {
    this.known.observe(event);
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

  /**
   * The stream's state and version: from memory when known, else read and remembered. What memory holds may lag
   * the store by events other processes appended (another service, or another instance of this one, which follows
   * no events while it stands by): a query whose answer must not lag asks `verify`, which keeps memory's state
   * only while the stream's version is still memory's (one message get) and reads the stream when it moved;
   * `fresh` always reads.
   */
  async load<S, C, E extends DomainEvent>(stream: AggregateStream<S, C, E>, options: { fresh?: boolean; verify?: boolean } = {}): Promise<{ state: S; version: number }> {
    if (options.fresh) return this.read(stream);
    const known = this.known.get(stream.key);
    if (known && !(options.verify && (await this.store.streamVersion(streamIdOf(stream))) !== known.version)) {
      this.stats.hits++;
      return { state: known.state as S, version: known.version };
    }
    this.stats.misses++;
    return this.read(stream);
  }

  private async read<S, C, E extends DomainEvent>(stream: AggregateStream<S, C, E>): Promise<{ state: S; version: number }> {
    const { events, version } = await this.store.readStream(streamIdOf(stream));
    const state = foldEvents(stream.aggregate.decider, events);
    this.remember(stream, state, version);
    return { state, version };
  }

  private remember<S, C, E extends DomainEvent>(stream: AggregateStream<S, C, E>, state: S, version: number): void {
    const decider = stream.aggregate.decider;
    const evolve = (s: unknown, e: DomainEvent) => decider.evolve(s as S, e as E);
    this.known.track(stream.aggregate.name, { initial: () => decider.initialState(), evolve });
    if (version === 0) return; // nothing stored yet: nothing worth keeping
    this.known.set(stream.key, { state, version, evolve });
  }

  /** Follows new streams of this aggregate from their first observed event, so commands on them need no read. */
  track<S, C, E extends DomainEvent>(aggregate: Aggregate<S, C, E>): void {
    const decider = aggregate.decider;
    this.known.track(aggregate.name, { initial: () => decider.initialState(), evolve: (s, e) => decider.evolve(s as S, e as E) });
  }

  handle<S, C, E extends DomainEvent>(stream: AggregateStream<S, C, E>, command: C, context: CommandContext, options: HandleOptions = {}): Promise<HandleResult<S, E>> {
    return this.serialize(stream.key, () => this.attempt(stream, command, context, options));
  }

  private async attempt<S, C, E extends DomainEvent>(stream: AggregateStream<S, C, E>, command: C, context: CommandContext, options: HandleOptions): Promise<HandleResult<S, E>> {
    const decider = stream.aggregate.decider;
    let lastConflict: VersionConflictError | undefined;
    let current: { state: S; version: number } | undefined = options.isNew ? { state: decider.initialState(), version: 0 } : undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const fromMemory = current === undefined && this.known.get(stream.key) !== undefined;
      const { state, version } = current ?? (await this.load(stream));
      current = undefined;
      if (options.atVersion !== undefined && version !== options.atVersion) throw new VersionConflictError(streamIdOf(stream), options.atVersion, version);
      let events: readonly E[];
      try {
        events = decider.decide(command, state);
      } catch (refusal) {
        // A state from memory may lag events this process has not seen yet (another service's append a moment
        // ago): refuse only on the stream as it is now.
        if (!fromMemory) throw refusal;
        const fresh = await this.read(stream);
        if (fresh.version === version) throw refusal;
        current = fresh;
        attempt--;
        continue;
      }
      if (events.length === 0) {
        // Nothing to do, as memory has it: memory may lag appends by other processes (a follow-up's end of a
        // conversation decided on a state without the start another instance had just appended, and the agent kept
        // a conversation for good). Check the version (one message get by the stream's leader; during a NATS fault
        // the command fails rather than do nothing on a guess) and decide again on the stream if it moved.
        if (fromMemory) {
          const stored = await this.store.streamVersion(streamIdOf(stream));
          if (stored !== version) {
            current = await this.read(stream);
            attempt--;
            continue;
          }
        }
        return { state, events, version };
      }
      const toAppend = events.map((e, i) => ({
        id: context.commandId ? deriveEventId(context.commandId, stream.key, i) : newEventId(),
        type: e.type,
        schemaVersion: this.options.schemaVersions?.[e.type] ?? 1,
        data: e.data,
        metadata: { ...context.metadata, causationId: context.metadata.causationId ?? context.commandId ?? context.metadata.correlationId },
      }));
      try {
        const appended = await this.store.append(streamIdOf(stream), toAppend, version === 0 ? 'no-stream' : version);
        const after = events.reduce((s, e) => decider.evolve(s, e), state);
        this.remember(stream, after, appended.version);
        this.appended = Math.max(this.appended, appended.version);
        this.appendedByAggregate.set(stream.aggregate.name, Math.max(this.appendedByAggregate.get(stream.aggregate.name) ?? 0, appended.version));
        return { state: after, events, version: appended.version };
      } catch (err) {
        // Any other failure (a timeout, a dropped connection) leaves what we know as it was: if the append landed
        // after all, the next command's expected version conflicts and reads then. Forgetting here made every
        // failed append during a NATS fault a stream read on the retry.
        if (!(err instanceof VersionConflictError)) throw err;
        this.known.delete(stream.key);
        if (options.atVersion !== undefined) throw err;
        this.stats.conflicts++;
        lastConflict = err;
        // Another process wrote first: let the writers spread out before reading the stream again.
        if (attempt > 1) await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
        current = await this.read(stream);
      }
    }
    throw conflict(`gave up after ${this.maxAttempts} concurrent-write conflicts`, { stream: stream.key }, lastConflict);
  }
}

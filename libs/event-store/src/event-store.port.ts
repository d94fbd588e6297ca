import { ParleyError } from '@parley/errors';
import type { TraceCarrier } from './trace-context.js';

/** Events of one aggregate instance live on one subject: `parley.v1.evt.<aggregate>.<id>`. */
export const EVENT_SUBJECT_PREFIX = 'parley.v1.evt';

export interface StreamId {
  readonly aggregate: string;
  readonly id: string;
}

export interface EventMetadata {
  correlationId: string;
  causationId: string;
  /** ISO-8601 instant the decision was taken; passed in by the caller, never read from a clock here. */
  at: string;
  actor: string;
}

/** An event as the contract stores it, before it has a position. */
export interface EventToAppend {
  id: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
}

export interface StoredEvent extends EventToAppend {
  aggregate: string;
  aggregateId: string;
  /** Global position in the event store (JetStream stream sequence), 1-based, gap-free per store. */
  position: number;
  /**
   * The stream's version just before this event (the position of its previous event, 0 for the first), when the
   * append checked it. A holder of the stream's state at that version can evolve it with this event and know
   * it missed nothing; events stored before this field existed lack it.
   */
  previousVersion?: number;
  /** The W3C trace context its append carried (message headers), when the store traces; consumers continue it. */
  traceContext?: TraceCarrier;
}

/**
 * A stream's version is the position of its last event (0 when it has none), which is what JetStream
 * compares for optimistic concurrency (`expect.lastSubjectSequence`).
 */
export type ExpectedVersion = 'any' | 'no-stream' | number;

export interface AppendResult {
  /** The stream's version after the append (the position of its last event). */
  version: number;
}

export interface StreamRead {
  version: number;
  events: StoredEvent[];
}

export interface ReadAllOptions {
  fromPosition: number;
  /** Only events of this aggregate type (e.g. `session`). */
  aggregate?: string;
}

export interface ConsumeOptions {
  /** Durable name: a consumer with the same name resumes after the last acknowledged event. */
  name: string;
  aggregate?: string;
  /** Where a new durable starts; ignored when the durable already exists. Default 1. */
  fromPosition?: number;
  /** How long an unacknowledged delivery waits before it is redelivered (a crashed consumer's events). */
  ackWaitMs?: number;
  /**
   * Events in hand at once. Events of one stream (one session, one agent) are always handled one after the
   * other, in order; events of different streams run concurrently up to this many. Default 1.
   */
  maxInFlight?: number;
  /** Attempts before an event that keeps failing is parked (default: retried forever). */
  maxAttempts?: number;
  /** Back-off before the n-th retry (default: 100 ms doubling to 5 s). */
  retryDelayMs?: (attempt: number) => number;
  /** Called with an event given up on after `maxAttempts`; resolve once it is kept elsewhere (it is then acknowledged). */
  park?: (parked: ParkedEvent) => Promise<void>;
  /** Only events of this partition: `partitionOf(stream key) === partition.index` of `partition.count`. */
  partition?: { index: number; count: number };
}

export type EventHandler = (event: StoredEvent) => Promise<void>;

/** What a durable consumer does with events it cannot handle: retried in order, then parked. */
export interface ParkedEvent {
  consumer: string;
  event: StoredEvent;
  error: string;
  attempts: number;
  parkedAt: string;
}

export interface Consumption {
  /**
   * Stop taking new events, finish those in hand (ack them), then resolve. With `drainMs`, what is still in hand
   * after that long is left as `kill` leaves it (the next holder gets it after its ack wait): a handler that does
   * not return must not hold up whoever stops the consumption (a lease renewal) for good.
   */
  stop(options?: { drainMs?: number }): Promise<void>;
  /** Resolves when consumption ended by itself (the consumer was deleted, the server lost it), with the reason. */
  readonly ended: Promise<unknown>;
  /** Stop at once, leaving the event in hand unacknowledged, as a crash would. */
  kill(): void;
}

export interface Following {
  stop(): void;
  /** Matching events in the store beyond the starting position when the tail began (0: nothing to catch up). */
  readonly pendingAtStart: number;
}

/** The event-store port. Every adapter passes the shared contract suite (`event-store.contract.ts`). */
export interface EventStore {
  append(stream: StreamId, events: readonly EventToAppend[], expected: ExpectedVersion): Promise<AppendResult>;
  readStream(stream: StreamId): Promise<StreamRead>;
  /** The stream's version (its newest event's position, 0 when it has none), without reading its events. */
  streamVersion(stream: StreamId): Promise<number>;
  /** Events from a position up to the head as it was when the call began. */
  readAll(options: ReadAllOptions): AsyncIterable<StoredEvent>;
  /** Position of the newest event in the store (0 when empty). */
  headPosition(): Promise<number>;
  /** Durable, at-least-once delivery in order; the handler's resolve acknowledges, its rejection redelivers. */
  consume(options: ConsumeOptions, handler: EventHandler): Promise<Consumption>;
  /**
   * Ephemeral, in-order tail of the store from a position: for in-memory projections. `pending` is how many
   * matching events the store held beyond this one when it was delivered (0: the tail has caught up).
   */
  follow(options: ReadAllOptions, handler: (event: StoredEvent, pending: number) => void): Promise<Following>;
}

/** FNV-1a of a stream key, for partitioning streams among consumer instances: stable across processes. */
export function partitionOf(key: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % count;
}

export class VersionConflictError extends ParleyError {
  override readonly name = 'VersionConflictError';
  constructor(
    readonly stream: StreamId,
    readonly expected: ExpectedVersion,
    readonly actual: number,
    cause?: unknown,
  ) {
    super('conflict', `stream ${stream.aggregate}.${stream.id} is at version ${actual}, expected ${String(expected)}`, { stream: `${stream.aggregate}.${stream.id}`, expected, actual }, { cause });
  }
}

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/** Aggregate names and ids become subject tokens: keep them to characters NATS never treats specially. */
export function streamSubject(stream: StreamId): string {
  if (!TOKEN.test(stream.aggregate) || !TOKEN.test(stream.id)) {
    throw new ParleyError('invalid-payload', `invalid stream id ${stream.aggregate}.${stream.id}`, {
      aggregate: stream.aggregate,
      id: stream.id,
    });
  }
  return `${EVENT_SUBJECT_PREFIX}.${stream.aggregate}.${stream.id}`;
}

export function parseStreamSubject(subject: string): StreamId {
  const parts = subject.split('.');
  return { aggregate: parts[3] ?? '', id: parts.slice(4).join('.') };
}

export function filterSubject(aggregate?: string): string {
  return aggregate ? `${EVENT_SUBJECT_PREFIX}.${aggregate}.>` : `${EVENT_SUBJECT_PREFIX}.>`;
}

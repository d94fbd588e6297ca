import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type MsgRequest,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { type NatsConnection, type Status, nanos, nuid } from '@nats-io/transport-node';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  type AppendResult,
  type ConsumeOptions,
  type Consumption,
  EVENT_SUBJECT_PREFIX,
  type EventHandler,
  type EventStore,
  type EventToAppend,
  type ExpectedVersion,
  type Following,
  type ReadAllOptions,
  type StoredEvent,
  type StreamId,
  type StreamRead,
  VersionConflictError,
  filterSubject,
  parseStreamSubject,
  partitionOf,
  streamSubject,
} from './event-store.port.js';
import { JetStreamPublisher } from './jetstream-publisher.js';
import { isJetStreamUnavailable, untilJetStreamAnswers } from './jetstream-availability.js';
import { DEFAULT_DURABILITY, type StreamDurability, assertDurability, jetStreamClientFor, jetStreamManagerFor, settingDifferences, streamInfoIfAny } from './stream-durability.js';
import { injectTraceHeaders, traceCarrierOf } from './trace-context.js';
import { drainWithin } from './drain-within.js';
import { Upcasters } from './upcasters.js';

/** The events' JetStream stream, unless a store is made with another name (tests). */
export const EVENTS_STREAM = 'PARLEY_EVENTS';

export interface JetStreamEventStoreOptions {
  streamName?: string;
  /** How long JetStream remembers event IDs for deduplication of retried appends. */
  duplicateWindowMs?: number;
  /** JetStream replicas of the stream (PARLEY_STREAM_REPLICAS); an existing stream with others refuses to start. */
  replicas?: number;
  /** Storage of the stream (PARLEY_STREAM_STORAGE, default file); an existing stream with another refuses to start. */
  storage?: StreamDurability['storage'];
  /** Called when an existing stream's other settings differ from this version's (they are then updated). */
  onSettingsDiffer?: (stream: string, differences: string[]) => void;
  upcasters?: Upcasters;
  /** Called when a durable consumer's handler fails; the event is redelivered after a back-off. */
  onHandlerError?: (consumer: string, event: StoredEvent, error: unknown) => void;
  /**
   * Tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set): an append is a producer span whose W3C context each event
   * carries in its message headers, and events read back carry it as `traceContext`. Off, neither costs anything.
   */
  tracing?: boolean;
}

const READ_BATCH = 500;
/** Events of one stream read by message gets before a consumer reads the rest (sessions stay well under it). */
const READ_BY_GETS = 64;

/** The contract's stored shape: `{id, type, schemaVersion, aggregateId, data, metadata}`. */
interface WireEvent {
  id: string;
  type: string;
  schemaVersion: number;
  aggregateId: string;
  data: unknown;
  metadata: StoredEvent['metadata'];
  /** The stream's version the append expected (see `StoredEvent.previousVersion`); absent for unchecked appends. */
  previousVersion?: number;
}

/**
 * The event store on a JetStream stream. One subject per aggregate instance; optimistic concurrency by the
 * subject's last sequence; deduplication by event ID through `Nats-Msg-Id`. Runs on nats-server 2.9 and newer
 * (single filter subjects only, no 2.10 features).
 */
export class JetStreamEventStore implements EventStore {
  readonly streamName: string;
  private readonly upcasters: Upcasters;
  private readonly publisher: JetStreamPublisher;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: JetStreamEventStoreOptions,
  ) {
    this.streamName = options.streamName ?? EVENTS_STREAM;
    this.upcasters = options.upcasters ?? new Upcasters();
    this.publisher = new JetStreamPublisher(nc);
  }

  /** Connects the adapter and creates its stream if missing (idempotent: safe for every instance at start). */
  static async create(nc: NatsConnection, options: JetStreamEventStoreOptions = {}): Promise<JetStreamEventStore> {
    const store = new JetStreamEventStore(nc, jetStreamClientFor(nc), await jetStreamManagerFor(nc), options);
    await untilJetStreamAnswers(`stream ${store.streamName}`, () => store.ensureStream());
    return store;
  }

  private async ensureStream(): Promise<void> {
    const durability: StreamDurability = { replicas: this.options.replicas ?? DEFAULT_DURABILITY.replicas, storage: this.options.storage ?? DEFAULT_DURABILITY.storage };
    const config = {
      name: this.streamName,
      subjects: [`${EVENT_SUBJECT_PREFIX}.>`],
      storage: durability.storage === 'memory' ? StorageType.Memory : StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(this.options.duplicateWindowMs ?? 120_000),
      num_replicas: durability.replicas,
      allow_direct: true,
    };
    const existing = await streamInfoIfAny(this.jsm, this.streamName);
    if (existing) {
      // Replicas and storage are the operator's to change; other settings follow this version.
      assertDurability(this.streamName, existing.config, durability);
      const differences = settingDifferences(existing.config, config, ['subjects', 'retention', 'discard', 'duplicate_window', 'allow_direct']);
      // Only when something differs: an update of a replicated stream is a proposal its group must agree on, and
      // every instance of every service opens the store at start.
      if (differences.length > 0) {
        this.options.onSettingsDiffer?.(this.streamName, differences);
        await this.jsm.streams.update(this.streamName, config);
      }
      return;
    }
    try {
      await this.jsm.streams.add(config);
    } catch (addErr) {
      // Another instance created it between our info and add: that is the state we wanted, if stored as asked.
      if (!(addErr instanceof JetStreamApiError) || isJetStreamUnavailable(addErr)) throw addErr;
      const created = await this.jsm.streams.info(this.streamName);
      assertDurability(this.streamName, created.config, durability);
    }
  }

  append(stream: StreamId, events: readonly EventToAppend[], expected: ExpectedVersion): Promise<AppendResult> {
    return this.options.tracing ? this.tracedAppend(stream, events, expected) : this.appendEvents(stream, events, expected);
  }

  private tracedAppend(stream: StreamId, events: readonly EventToAppend[], expected: ExpectedVersion): Promise<AppendResult> {
    const attributes = {
      'messaging.system': 'nats',
      'messaging.operation.type': 'send',
      'messaging.destination.name': `${EVENT_SUBJECT_PREFIX}.${stream.aggregate}.*`,
      'messaging.batch.message_count': events.length,
      'parley.aggregate': stream.aggregate,
      'parley.event.types': events.map((e) => e.type),
      // Session and agent IDs are drawn by Parley, never a customer's address: safe to name.
      [`parley.${stream.aggregate}.id`]: stream.id,
    };
    return trace.getTracer('@parley/event-store').startActiveSpan(`append ${stream.aggregate}`, { kind: SpanKind.PRODUCER, attributes }, async (span) => {
      try {
        const result = await this.appendEvents(stream, events, expected);
        span.setAttribute('parley.stream.version', result.version);
        return result;
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof VersionConflictError ? 'conflict' : (err as Error)?.name });
        throw err;
      } finally {
        span.end();
      }
    });
  }

  private async appendEvents(stream: StreamId, events: readonly EventToAppend[], expected: ExpectedVersion): Promise<AppendResult> {
    const subject = streamSubject(stream);
    let expect: number | undefined = expected === 'any' ? undefined : expected === 'no-stream' ? 0 : expected;
    let version = expect ?? 0;
    for (const event of events) {
      const wire: WireEvent = {
        id: event.id,
        type: event.type,
        schemaVersion: event.schemaVersion,
        aggregateId: stream.id,
        data: event.data,
        metadata: event.metadata,
        ...(expect === undefined ? {} : { previousVersion: expect }),
      };
      try {
        const ack = await this.publisher.publish(subject, JSON.stringify(wire), {
          msgID: event.id,
          // Per event: publish adds its own headers (Nats-Msg-Id, the expected sequence) to the object it is given.
          ...(this.options.tracing ? { headers: injectTraceHeaders() } : {}),
          ...(expect === undefined ? {} : { expect: { lastSubjectSequence: expect } }),
        });
        version = ack.seq;
        expect = ack.seq;
      } catch (err) {
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) {
          throw new VersionConflictError(stream, expected, await this.versionOfSubject(subject), err);
        }
        throw err;
      }
    }
    if (events.length === 0) version = await this.versionOfSubject(subject);
    return { version };
  }

  private async versionOfSubject(subject: string): Promise<number> {
    try {
      const m = await this.jsm.streams.getMessage(this.streamName, { last_by_subj: subject });
      return m?.seq ?? 0;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.status === 404) return 0;
      throw err;
    }
  }

  /**
   * One aggregate's events. The first READ_BY_GETS of them by the stream leader's message-get API, one after the
   * other (no consumer: on a cluster a consumer is a raft group the meta leader must create, and after a lost node
   * those creations timed out for a minute while gets kept working); a longer stream's rest by a bounded consumer.
   */
  async readStream(stream: StreamId): Promise<StreamRead> {
    const subject = streamSubject(stream);
    const events: StoredEvent[] = [];
    let next = 1;
    for (let n = 0; n < READ_BY_GETS; n++) {
      // nats-server (2.9 on) takes next_by_subj on the message-get API too; nats.js types it for direct gets only.
      const m = await this.jsm.streams.getMessage(this.streamName, { seq: next, next_by_subj: subject } as MsgRequest);
      if (!m) return { version: events.at(-1)?.position ?? 0, events };
      events.push(this.decode({ json: <T>() => m.json<T>(), subject: m.subject, seq: m.seq, headers: m.header }));
      next = m.seq + 1;
    }
    for await (const e of this.readFiltered(subject, next)) events.push(e);
    return { version: events.at(-1)?.position ?? 0, events };
  }

  readAll(options: ReadAllOptions): AsyncIterable<StoredEvent> {
    return this.readFiltered(filterSubject(options.aggregate), Math.max(1, options.fromPosition));
  }

  /** One message get of the subject's last message, answered by the stream's leader: where a read would end, without the read. */
  streamVersion(stream: StreamId): Promise<number> {
    return this.versionOfSubject(streamSubject(stream));
  }

  async headPosition(): Promise<number> {
    const info = await this.jsm.streams.info(this.streamName);
    return info.state.last_seq;
  }

  private async *readFiltered(subject: string, fromPosition: number): AsyncIterable<StoredEvent> {
    for await (const m of readBounded(this.js, this.jsm, { stream: this.streamName, filterSubject: subject, from: { sequence: fromPosition } })) yield this.decode(m);
  }

  private decode(m: Pick<JsMsg, 'json' | 'subject' | 'seq' | 'headers'>): StoredEvent {
    const wire = m.json<WireEvent>();
    const { aggregate } = parseStreamSubject(m.subject);
    const event = this.upcasters.apply({
      id: wire.id,
      type: wire.type,
      schemaVersion: wire.schemaVersion,
      data: wire.data,
      metadata: wire.metadata,
      aggregate,
      aggregateId: wire.aggregateId,
      position: m.seq,
      ...(wire.previousVersion === undefined ? {} : { previousVersion: wire.previousVersion }),
    });
    if (this.options.tracing) {
      const traceContext = traceCarrierOf(m.headers);
      if (traceContext) event.traceContext = traceContext;
    }
    return event;
  }

  async consume(options: ConsumeOptions, handler: EventHandler): Promise<Consumption> {
    const decoded = new WeakMap<JsMsg, StoredEvent>();
    const decode = (m: JsMsg) => {
      let event = decoded.get(m);
      if (!event) decoded.set(m, (event = this.decode(m)));
      return event;
    };
    return consumeDurably(this.js, this.jsm, {
      connection: this.nc,
      stream: this.streamName,
      name: options.name,
      filterSubject: filterSubject(options.aggregate),
      fromSequence: options.fromPosition,
      ackWaitMs: options.ackWaitMs,
      maxInFlight: options.maxInFlight,
      maxAttempts: options.maxAttempts,
      retryDelayMs: options.retryDelayMs,
      partition: options.partition,
      ...(options.park ? { park: (m, error, attempts) => options.park!({ consumer: options.name, event: decode(m), error, attempts, parkedAt: new Date().toISOString() }) } : {}),
      handle: async (m) => {
        const event = decode(m);
        try {
          await handler(event);
        } catch (err) {
          this.options.onHandlerError?.(options.name, event, err);
          throw err;
        }
      },
    });
  }

  async follow(options: ReadAllOptions, handler: (event: StoredEvent, pending: number) => void): Promise<Following> {
    const from = Math.max(1, options.fromPosition);
    const consumer = await this.js.consumers.get(this.streamName, {
      filter_subjects: filterSubject(options.aggregate),
      ...(from > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from } : {}),
    });
    const pendingAtStart = (await consumer.info(true)).num_pending;
    // Short pulls: the server's heartbeats come every half expiry, and two missed ones (a server that died holding
    // the pull, a connection moved to another server) make the ordered consumer start again after the last
    // message seen, in seconds rather than the client's default 30 s.
    const messages = await consumer.consume({ max_messages: 2_000, expires: 4_000 });
    void (async () => {
      for await (const m of messages) handler(this.decode(m), m.info.pending);
    })();
    return { stop: () => messages.stop(), pendingAtStart };
  }

  get connection(): NatsConnection {
    return this.nc;
  }
}

export interface DurableConsumerOptions {
  stream: string;
  /** Durable name: a consumer of the same name resumes after the last acknowledged message. */
  name: string;
  filterSubject: string;
  /** Where a new durable starts; ignored when it exists. */
  fromSequence?: number;
  ackWaitMs?: number;
  /** Messages in hand at once; those of one subject are always handled one after the other. Default 1. */
  maxInFlight?: number;
  /** Attempts before `park` takes a message that keeps failing (default: retried forever). */
  maxAttempts?: number;
  retryDelayMs?: (attempt: number) => number;
  /** Keeps a message given up on; it is acknowledged once this resolves. */
  park?: (m: JsMsg, error: string, attempts: number) => Promise<void>;
  /** Only subjects of this partition are handled; the others are acknowledged untouched (another instance has them). */
  partition?: { index: number; count: number };
  /** Resolves: acknowledged. Rejects: retried in place after a back-off (later messages of its subject wait). */
  handle: (m: JsMsg) => Promise<void>;
  /** After a disruption, how long the consumer may not answer before the consumption ends (LeaderlessConsumerError). */
  leaderlessMs?: number;
  /**
   * The connection `js` runs on: when it drops and reconnects (to another server of a cluster, or the same one
   * restarted), the pull in progress is abandoned at once instead of waiting for an end that never comes.
   */
  connection?: NatsConnection;
}

/** How long a durable consumer may stay without answering (no leader) before its consumption ends with LeaderlessConsumerError. */
export const LEADERLESS_CONSUMER_MS = 10_000;

/**
 * A durable consumer that has not answered for LEADERLESS_CONSUMER_MS after a disruption: its raft group has no
 * leader (nats-server 2.9.10 was seen leaving one without a leader for 42 s, until the lost node came back, while
 * its stream had one again after 5 s). The consumption ends with this error so that its owner can decide.
 */
export class LeaderlessConsumerError extends Error {
  constructor(
    readonly consumer: string,
    readonly silentForMs: number,
  ) {
    super(`durable consumer ${consumer} has not answered for ${Math.round(silentForMs / 1000)} s (no leader)`);
  }
}

/** Resolves once the consumer counts no unacknowledged message, or after `maxMs` (those messages are due again). */
async function ackPendingSettled(jsm: JetStreamManager, stream: string, name: string, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    const pending = await jsm.consumers.info(stream, name).then(
      (i) => i.num_ack_pending,
      () => 1,
    );
    if (pending === 0) return;
  }
}

/** How long past its expiry a pull may stay open before it is taken for lost (its server died holding it). */
const LOST_PULL_GRACE_MS = 4_000;
const PULL_EXPIRES_MS = 1_000;

/** Durables being made again with explicit acknowledgements, and where each resumes (see consumeDurably). */
const converting = new Map<string, number>();

const defaultRetryDelay = (attempt: number) => Math.min(5_000, 100 * 2 ** Math.min(attempt - 1, 6));

/**
 * A durable pull consumer with explicit acks for anything that must not be lost: event handlers and delivery
 * relays. Messages are spread over lanes by subject (one aggregate instance, one lane): a lane handles its
 * messages one after the other, in stream order, while different lanes run concurrently up to `maxInFlight`.
 * A failing message is retried in its lane (so nothing of its subject overtakes it), then parked, so one poison
 * event never stalls the others. Runs on nats-server 2.9.
 */
export async function consumeDurably(js: JetStreamClient, jsm: JetStreamManager, o: DurableConsumerOptions): Promise<Consumption> {
  const ackWaitMs = o.ackWaitMs ?? 30_000;
  const ackWait = nanos(ackWaitMs);
  const from = o.fromSequence ?? 1;
  const maxInFlight = Math.max(1, o.maxInFlight ?? 1);
  const create = (start: number) =>
    jsm.consumers.add(o.stream, {
      durable_name: o.name,
      filter_subject: o.filterSubject,
      ack_policy: AckPolicy.Explicit,
      ack_wait: ackWait,
      max_ack_pending: maxInFlight,
      max_deliver: -1,
      deliver_policy: start > 1 ? DeliverPolicy.StartSequence : DeliverPolicy.All,
      ...(start > 1 ? { opt_start_seq: start } : {}),
    });
  const key = `${o.stream}/${o.name}`;
  try {
    let info = await jsm.consumers.info(o.stream, o.name);
    // Messages a previous holder took and never acknowledged (it crashed) come back after their ack wait: start
    // only then, so they are handled before newer messages of their subjects. A holder that handed over in good
    // order acknowledged all it took, its last acknowledgements possibly still on their way: start as soon as the
    // consumer counts none pending rather than always waiting the whole ack wait.
    if (info.num_ack_pending > 0) {
      await ackPendingSettled(jsm, o.stream, o.name, Math.ceil(ackWaitMs * 1.1));
      info = await jsm.consumers.info(o.stream, o.name);
    }
    if (info.config.ack_policy !== AckPolicy.Explicit) {
      // Made by a build of 2026-11-22 that acknowledged cumulatively (never released): an acknowledgement there
      // covers every earlier message, also one still in a lane, so it is made again with explicit ones from its ack
      // floor (the server cannot change the policy in place). Its place is kept across a failed attempt.
      const start = Math.max(info.ack_floor.stream_seq + 1, info.config.opt_start_seq ?? 1);
      converting.set(key, start);
      await jsm.consumers.delete(o.stream, o.name).catch((err: unknown) => {
        if (!(err instanceof JetStreamApiError) || err.status !== 404) throw err;
      });
      await create(start);
      converting.delete(key);
    } else if (info.config.max_ack_pending !== maxInFlight || info.config.ack_wait !== ackWait) {
      await jsm.consumers.update(o.stream, o.name, { ack_wait: ackWait, max_ack_pending: maxInFlight });
    }
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.status !== 404) throw err;
    await create(converting.get(key) ?? from);
    converting.delete(key);
  }
  const consumer = await js.consumers.get(o.stream, o.name);
  const lanes = new Map<string, Promise<void>>();
  /** Each lane's messages in hand, in delivery order: the one being handled first. */
  const inLane = new Map<string, JsMsg[]>();
  /** Stream sequences in hand (their count is what `maxInFlight` bounds): a copy the server sends again after its ack wait is not handled twice. */
  const inHandSeqs = new Set<number>();
  /** Subjects whose lane gave up on stopping: their later messages are left for the next holder, in order. */
  const blocked = new Set<string>();
  let killed = false;
  let stopping = false;
  let wake: (() => void) | undefined;
  let batch: { stop(): void } | undefined;
  /** The connection dropped or a pull was lost: check for messages lost in transit before the next pull. */
  let disrupted = false;
  /** Since when the consumer has not answered after a disruption (its leader gone). */
  let unansweredSince: number | undefined;
  const statuses = o.connection?.status() as (AsyncIterable<Status> & { stop(): void }) | undefined;
  void (async () => {
    if (!statuses) return;
    for await (const status of statuses) {
      if (status.type !== 'reconnect') continue;
      disrupted = true;
      batch?.stop();
    }
  })();

  /** An acknowledgement or progress signal that cannot be sent (the connection closing) is the redelivery's job. */
  const signal = (send: () => void) => {
    try {
      send();
    } catch {
      // the server sends the message again after its ack wait
    }
  };
  /** When each message in hand came: what has been in hand for a quarter of the ack wait is kept alive. */
  const receivedAt = new Map<JsMsg, number>();
  // Progress for every message in hand that has been there a quarter of the ack wait (so at the latest half-way
  // through it, a margin for an event loop held up under load): a handler slower than the ack
  // wait (a request during a NATS fault), one retrying with back-off, and the messages waiting behind either in
  // their lanes. Without it the server sends them again meanwhile. Always for a whole lane, not just its slow
  // message: after a crash the lane's messages then come back together and in stream order (the server orders
  // the redeliveries that expire at the same time), where the ones waiting behind it would otherwise expire first
  // and overtake it at the next holder. Messages handled in time (all of them, normally) cost nothing here.
  const keepAliveEveryMs = Math.max(1, Math.floor(ackWaitMs / 4));
  const keepAlive = setInterval(() => {
    const due = Date.now() - keepAliveEveryMs;
    for (const lane of inLane.values()) {
      const head = lane[0];
      if (!head || (receivedAt.get(head) ?? due) > due) continue;
      for (const waiting of lane) signal(() => waiting.working());
    }
  }, keepAliveEveryMs);
  keepAlive.unref();

  const settle = async (m: JsMsg): Promise<void> => {
    if (blocked.has(m.subject)) return;
    for (let attempt = Math.max(1, m.info.deliveryCount); ; attempt++) {
      if (killed) return;
      let failure: unknown;
      try {
        await o.handle(m);
      } catch (err) {
        failure = err ?? new Error('handler failed');
      }
      if (killed) return;
      if (failure === undefined) {
        signal(() => m.ack());
        return;
      }
      if (o.park && o.maxAttempts !== undefined && attempt >= o.maxAttempts) {
        try {
          await o.park(m, String((failure as Error)?.stack ?? failure), attempt);
          signal(() => m.ack());
          return;
        } catch {
          // could not park it (NATS down?): keep trying it in place
        }
      }
      if (stopping) {
        blocked.add(m.subject); // it and what follows on its subject are redelivered to whoever takes over
        return;
      }
      // The back-off is slept in steps, so that a stop or a kill is not held up by it (keepAlive above keeps the
      // lane from being sent again meanwhile).
      const until = Date.now() + (o.retryDelayMs ?? defaultRetryDelay)(attempt);
      for (let left = until - Date.now(); left > 0 && !killed && !stopping; left = until - Date.now()) {
        await new Promise((r) => setTimeout(r, Math.min(left, keepAliveEveryMs)));
      }
    }
  };

  // Bounded pulls, not an open-ended subscription: when a pull ends, no message of it is still on the wire, so a
  // stopping holder hands over nothing half-delivered (a message in transit would come back to the next holder
  // only after the ack wait, behind newer ones of its subject).
  let endedBy: unknown;
  const loop = (async () => {
    while (!stopping && !killed) {
      const room = maxInFlight - inHandSeqs.size;
      if (room <= 0) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      if (disrupted) {
        disrupted = false;
        // Messages delivered to the dropped connection are gone with it and come back only after their ack wait;
        // pulling before that would hand newer messages of their subjects over first. Wait for them only when
        // some are missing (the server counts more unacknowledged messages than we hold).
        const pending = await consumer.info().then(
          (info) => info.num_ack_pending,
          () => undefined,
        );
        if (pending === undefined) {
          // The consumer's leader is not answering yet (a cluster electing one): ask again shortly, and end after
          // LEADERLESS_CONSUMER_MS for the owner to decide (see LeaderlessConsumerError).
          unansweredSince ??= Date.now();
          if (Date.now() - unansweredSince > (o.leaderlessMs ?? LEADERLESS_CONSUMER_MS)) throw new LeaderlessConsumerError(o.name, Date.now() - unansweredSince);
          disrupted = true;
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        unansweredSince = undefined;
        if (pending > inHandSeqs.size) await new Promise((r) => setTimeout(r, Math.ceil(ackWaitMs * 1.1)));
        continue;
      }
      const messages = await consumer.fetch({ max_messages: Math.min(room, 512), expires: PULL_EXPIRES_MS });
      batch = messages;
      // A pull ends with the server's 408 at its expiry; one held by a server that died never does. Stop it.
      let lastSeen = Date.now();
      const lostPull = setInterval(() => {
        if (Date.now() - lastSeen < PULL_EXPIRES_MS + LOST_PULL_GRACE_MS) return;
        disrupted = true;
        messages.stop();
      }, 1_000);
      try {
        for await (const m of messages) {
          lastSeen = Date.now();
          if (killed) return;
          if (o.partition && o.partition.count > 1 && partitionOf(m.subject, o.partition.count) !== o.partition.index) {
            signal(() => m.ack());
            continue;
          }
          if (inHandSeqs.has(m.seq)) continue;
          inHandSeqs.add(m.seq);
          receivedAt.set(m, Date.now());
          const lane = inLane.get(m.subject) ?? [];
          lane.push(m);
          inLane.set(m.subject, lane);
          const previous = lanes.get(m.subject) ?? Promise.resolve();
          const next = previous
            .then(() => settle(m))
            .finally(() => {
              inHandSeqs.delete(m.seq);
              receivedAt.delete(m);
              lane.splice(lane.indexOf(m), 1);
              if (lane.length === 0 && inLane.get(m.subject) === lane) inLane.delete(m.subject);
              const w = wake;
              wake = undefined;
              w?.();
            });
          lanes.set(m.subject, next);
          void next.then(() => {
            if (lanes.get(m.subject) === next) lanes.delete(m.subject);
          });
        }
      } finally {
        clearInterval(lostPull);
      }
    }
  })().catch((err: unknown) => {
    endedBy = err;
  });
  // Kept alive only while this holder pulls: once it stops (or the consumption ends by itself) what it has in hand
  // is acknowledged if its handler finishes within the ack wait, and otherwise goes to the next holder, in order, as
  // after a crash. Kept alive longer, a handler that never returns would hold its lane from everyone for good.
  void loop.finally(() => {
    statuses?.stop();
    clearInterval(keepAlive);
  });
  const ended = loop.then(() => (stopping || killed ? new Promise<never>(() => undefined) : (endedBy ?? new Error(`consumer ${o.name} stopped delivering`))));
  const kill = () => {
    killed = true;
    // What this holder had in hand goes to the next one after its ack wait: no longer kept alive from here.
    clearInterval(keepAlive);
    statuses?.stop();
    batch?.stop();
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    ended,
    // The keep-alive goes on until the last pull has ended (loop.finally): a copy the server sent into that pull
    // would be dropped as one already in hand, its deadline restarted behind the lane's later messages.
    stop: async (stopOptions) => {
      stopping = true;
      statuses?.stop();
      const w = wake;
      wake = undefined;
      w?.();
      await loop;
      if (!(await drainWithin(Promise.allSettled([...lanes.values()]), stopOptions?.drainMs))) kill();
    },
    kill,
  };
}

export interface BoundedReadOptions {
  stream: string;
  filterSubject: string;
  /** From a stream sequence, or from an instant. */
  from: { sequence: number } | { time: string };
}

/**
 * The messages matching a subject from a place up to the stream's end as it is now: an ephemeral consumer knows
 * at creation how many match, and exactly that many are taken (so the read ends, even when nothing matches).
 */
export async function* readBounded(js: JetStreamClient, jsm: JetStreamManager, o: BoundedReadOptions): AsyncIterable<JsMsg> {
  const start =
    'time' in o.from
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: o.from.time }
      : o.from.sequence > 1
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: o.from.sequence }
        : { deliver_policy: DeliverPolicy.All };
  const ci = await jsm.consumers.add(o.stream, {
    name: `read-${nuid.next()}`,
    filter_subject: o.filterSubject,
    ack_policy: AckPolicy.None,
    inactive_threshold: nanos(30_000),
    mem_storage: true,
    ...start,
  });
  try {
    let remaining = ci.num_pending;
    if (remaining === 0) return;
    const consumer = await js.consumers.get(o.stream, ci.name);
    while (remaining > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(remaining, READ_BATCH), expires: 5_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        remaining--;
        yield m;
        if (remaining === 0) break;
      }
      if (got === 0) throw new Error(`read of ${o.filterSubject} on ${o.stream} stalled with ${remaining} messages pending`);
    }
  } finally {
    jsm.consumers.delete(o.stream, ci.name).catch(() => undefined);
  }
}

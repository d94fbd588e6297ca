import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { DiscardPolicy, type JetStreamManager, RetentionPolicy } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { type NatsConnection, type Subscription, nanos } from '@nats-io/transport-node';
import {
  CommandHandler,
  type Consumption,
  DEFAULT_DURABILITY,
  jetStreamClientFor,
  jetStreamManagerFor,
  LEADERLESS_CONSUMER_MS,
  LeaderlessConsumerError,
  type EventStore,
  JetStreamPublisher,
  type ParkedEvent,
  type StoredEvent,
  type StreamDurability,
  type StreamId,
  EVENTS_STREAM,
  consumeDurably,
  ensureDurableStream,
  openKvBucket,
  partitionOf,
  streamSubject,
} from '@parley/event-store';
import { CoalescingTask, renewSoon } from './coalescing-task.js';
import { LapsedLeases, renewalPeriodMs } from './lapsed-leases.js';
import { leaseConfirmed, leaseHolderId } from './lease-confirmation.js';
import { type ConsumerDefinition, consumerDefinitionOf } from './event-consumer.decorator.js';
import { EventDispatcher } from './event-dispatcher.js';
import { MetricsService } from './metrics.service.js';
import { ReadinessChecks } from './readiness.js';
import { type ServiceConfig, streamDurability } from './service-config.js';
import { warnSettingsDiffer } from './delivery.publisher.js';
import { EVENT_STORE, NATS_CONNECTION, SERVICE_CONFIG, SERVICE_NAME } from './tokens.js';
import { tracedEvent } from './tracing.js';

export const PARKED_STREAM = 'PARLEY_PARKED';
/** How long the event stream must have answered, while a durable of it does not, before that durable is re-created. */
const STREAM_ANSWERING_MS = 5_000;
/** `parley.v1.parked.<consumer>`: events a consumer gave up on; `….replay` sends one back to it. */
export const parkedSubject = (consumer: string) => `parley.v1.parked.${consumer}`;
export const replaySubject = (consumer: string) => `parley.v1.parked.${consumer}.replay`;

interface RunningConsumer {
  definition: ConsumerDefinition;
  dispatcher: EventDispatcher;
  partitions: Map<number, Consumption>;
  /** Partitions whose lease this instance holds (running, or starting). */
  leased: Set<number>;
  replay?: Consumption;
  lag: number;
}

/**
 * Finds every `@EventConsumer` among the service's providers and runs it: durable, partitioned among the
 * service's instances by lease, events of one stream in order and different streams concurrently, each handler
 * given its event narrowed and the stream's state from the events consumed (a stream is read only on a miss).
 * An event that keeps failing is parked on PARLEY_PARKED and the others go on.
 */
@Injectable()
export class ConsumerSupervisor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ConsumerSupervisor');
  private readonly running = new Map<string, RunningConsumer>();
  // One manager for the service's life: making one asks the server for the account's JetStream info first.
  private manager?: Promise<JetStreamManager>;
  private readonly instanceId = leaseHolderId();
  private leases?: KV;
  private readonly starting = new Map<string, Promise<void>>();
  /**
   * Partitions whose consumption is being stopped (handed back, lost to another instance, or ended by itself): their
   * work in hand still finishing, and the partition not started again here until it has.
   */
  private readonly stopping = new Map<string, { done: Promise<void>; since: number }>();
  private publisher?: JetStreamPublisher;
  private readonly renewal = new CoalescingTask('consumer lease renewal', () => this.renew(), this.logger);
  private readonly watches: Subscription[] = [];
  /** Partitions' leases that lapsed while another instance held them are left a renewal period to it. */
  private readonly lapsed = new LapsedLeases(() => this.renewalMs);
  /** Each durable's acknowledged position at the last lease renewal (a forced re-creation starts after it). */
  private readonly ackFloors = new Map<string, number>();
  /** Durables deleted for want of a leader, and where their re-creation starts. */
  private readonly recreateFrom = new Map<string, number>();
  /** Since when the stream has answered while a durable of it did not. */
  private readonly streamAnsweringSince = new Map<string, number>();
  private stopped = false;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(SERVICE_NAME) private readonly service: string,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly commands: CommandHandler,
    private readonly metrics: MetricsService,
    private readonly discovery: DiscoveryService,
    private readonly readiness: ReadinessChecks,
  ) {}

  private jsm(): Promise<JetStreamManager> {
    // Made without asking the server anything (jetStreamManagerFor): it cannot fail, so it is made once.
    this.manager ??= jetStreamManagerFor(this.nc);
    return this.manager;
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as object | undefined;
      if (!instance || typeof instance !== 'object' || !consumerDefinitionOf(instance)) continue;
      const dispatcher = new EventDispatcher(instance, this.store, {
        cacheSize: this.config.STATE_CACHE_SIZE,
        observe: (event) => this.commands.observe(event),
        onState: (source) => this.metrics.stateReads.inc({ source }),
      });
      this.running.set(dispatcher.definition.name, { definition: dispatcher.definition, dispatcher, partitions: new Map(), leased: new Set(), lag: 0 });
    }
    if (this.running.size === 0) return;
    // Not ready while a consumer falls behind by more than READY_MAX_LAG_EVENTS: it says which.
    this.readiness.register('consumers', () => {
      for (const [name, c] of this.running) {
        if (c.lag > this.config.READY_MAX_LAG_EVENTS) throw new Error(`consumer ${name} is ${c.lag} events behind`);
      }
    });
    await ensureParkedStream(this.nc, streamDurability(this.config));
    this.leases = await openKvBucket(this.nc, 'parley_consumer_leases', { history: 1, ttl: this.config.CONSUMER_LEASE_SECONDS * 1000 }, streamDurability(this.config));
    this.watchReleases();
    await this.renew();
    for (const c of this.running.values()) c.replay = await this.startReplay(c);
    this.renewal.every(this.renewalMs);
  }

  /**
   * A lease handed back (an instance shutting down, or giving back more than its fair share) is taken at once,
   * not at the next renewal: every KV write is also a plain NATS message on `$KV.<bucket>.<key>`, so a core
   * subscription to this service's lease keys sees each delete as it is made, with no consumer on the server (none
   * to create while a cluster elects leaders). A lease left by a process that died is freed by the bucket's TTL,
   * which sends nothing: the renewal tick finds it. Taking a lease is still a create or an update at the revision
   * read, checked by the stream's leader, so two instances never both hold one.
   */
  private watchReleases(): void {
    const subjects = [`$KV.parley_consumer_leases.instance.${this.service}.>`, ...[...this.running.keys()].map((name) => `$KV.parley_consumer_leases.${name}.>`)];
    for (const subject of subjects) {
      this.watches.push(
        this.nc.subscribe(subject, {
          callback: (err, m) => {
            if (err || this.stopped) return;
            const operation = m.headers?.get('KV-Operation');
            if (operation === 'DEL' || operation === 'PURGE') renewSoon(this.renewal);
          },
        }),
      );
    }
  }

  private get renewalMs(): number {
    return renewalPeriodMs(this.config.CONSUMER_LEASE_SECONDS);
  }

  /** Names of the consumers this process runs (for the events × consumers table and tests). */
  get consumers(): string[] {
    return [...this.running.keys()];
  }

  /**
   * The stream position through which `consumer` has handled every event of the partition `stream` falls in: its
   * durable's acknowledged floor (one API request). Whichever instance holds the partition, the server knows. A
   * request that must not overtake the consumer's follow-ups of a stream compares it with the stream's version.
   */
  async handledThrough(consumer: string, stream: StreamId): Promise<number> {
    const count = this.config.CONSUMER_PARTITIONS;
    const partition = count === 1 ? 0 : partitionOf(streamSubject(stream), count);
    const info = await (await this.jsm()).consumers.info(EVENTS_STREAM, this.durableName(consumer, partition));
    return info.ack_floor.stream_seq;
  }

  /** Partitions this instance holds, by consumer. */
  held(): Record<string, number[]> {
    return Object.fromEntries([...this.running].map(([name, c]) => [name, [...c.partitions.keys()].sort()]));
  }

  private leaseKey(consumer: string, partition: number): string {
    return `${consumer}.p${partition}`;
  }

  /**
   * Renews this instance's partitions, takes free ones up to its fair share, and hands back extras; the lease
   * bucket's TTL frees what a dead instance held. Instances are counted from the bucket's subjects (one request,
   * no consumer created).
   */
  private async renew(): Promise<void> {
    if (this.stopped || !this.leases) return;
    const kv = this.leases;
    const count = this.config.CONSUMER_PARTITIONS;
    try {
      await kv.put(`instance.${this.service}.${this.instanceId}`, new Date().toISOString());
      const instances = await this.countInstances();
      const fairShare = Math.ceil(count / Math.max(1, instances));
      for (const [name, c] of this.running) {
        for (let p = 0; p < count; p++) {
          const key = this.leaseKey(name, p);
          const entry = await kv.get(key);
          const mine = entry?.operation === 'PUT' && entry.string() === this.instanceId;
          const stopping = this.stopping.get(key);
          if (stopping) {
            // Kept while its work in hand finishes (bounded by the ack wait), so no other instance takes it meanwhile;
            // never taken back meanwhile. Not kept past a few ack waits, whatever holds it up. Held by another or free
            // now: no longer this instance's to start again once the stop is done.
            if (mine && Date.now() - stopping.since < 3 * this.config.CONSUMER_ACK_WAIT_MS) await kv.update(key, this.instanceId, entry.revision).catch(() => undefined);
            else if (!mine) {
              c.leased.delete(p);
              if (entry?.operation === 'PUT') this.lapsed.heldByOther(key);
            }
            continue;
          }
          if (mine) {
            if (c.leased.size > fairShare) {
              void this.stopBeside(c, p, () => this.release(c, p));
              continue;
            }
            try {
              await kv.update(key, this.instanceId, entry.revision);
              c.leased.add(p);
            } catch {
              void this.stopBeside(c, p, () => this.lose(c, p));
              continue;
            }
            // Held but not running (its restart after a server outage failed): start it again now.
            this.startInBackground(c, p);
            continue;
          }
          const heldByOther = entry?.operation === 'PUT';
          const mineUntilNow = c.leased.has(p) || c.partitions.has(p);
          if (heldByOther) {
            this.lapsed.heldByOther(key);
            if (mineUntilNow) void this.stopBeside(c, p, () => this.lose(c, p)); // someone else holds it now
            continue;
          }
          // Free: its holder until now takes it back at once and carries on; another only by the LapsedLeases policy.
          if (!mineUntilNow && (c.leased.size >= fairShare || !this.lapsed.mayTake(key, !!entry))) continue;
          this.lapsed.forget(key);
          try {
            if (entry) await kv.update(key, this.instanceId, entry.revision);
            else await kv.create(key, this.instanceId);
          } catch {
            if (mineUntilNow) void this.stopBeside(c, p, () => this.lose(c, p));
            continue; // another instance took it first
          }
          if (!(await leaseConfirmed(await this.jsm(), 'parley_consumer_leases', key, this.instanceId))) {
            if (mineUntilNow) void this.stopBeside(c, p, () => this.lose(c, p));
            continue;
          }
          c.leased.add(p);
          this.startInBackground(c, p);
        }
        await this.measureLag(c);
      }
    } catch (err) {
      this.logger.warn({ msg: 'consumer lease renewal failed; retrying', err: String(err) });
    }
  }

  private async countInstances(): Promise<number> {
    const jsm = await this.jsm();
    const info = await jsm.streams.info('KV_parley_consumer_leases', { subjects_filter: `$KV.parley_consumer_leases.instance.${this.service}.>` });
    // An instance that shut down leaves a delete marker on its key until the TTL: not counted.
    const prefix = '$KV.parley_consumer_leases.';
    const live = await Promise.all(
      Object.keys(info.state.subjects ?? {}).map((subject) =>
        this.leases!.get(subject.slice(prefix.length)).then(
          (e) => e?.operation === 'PUT',
          () => true,
        ),
      ),
    );
    return Math.max(1, live.filter(Boolean).length);
  }

  private async measureLag(c: RunningConsumer): Promise<void> {
    if (c.partitions.size === 0) {
      c.lag = 0;
      return;
    }
    const jsm = await this.jsm();
    let lag = 0;
    for (const p of c.partitions.keys()) {
      const durable = this.durableName(c.definition.name, p);
      const info = await jsm.consumers.info(EVENTS_STREAM, durable).catch(() => undefined);
      lag += (info?.num_pending ?? 0) + (info?.num_ack_pending ?? 0);
      if (info) this.ackFloors.set(durable, info.ack_floor.stream_seq);
    }
    c.lag = lag;
    this.metrics.consumerLag.set({ consumer: c.definition.name }, lag);
  }

  private durableName(consumer: string, partition: number): string {
    return this.config.CONSUMER_PARTITIONS === 1 ? consumer : `${consumer}-p${partition}`;
  }

  /**
   * Starts a leased partition without holding up the renewal: a start may wait for a previous holder's
   * unacknowledged messages (up to the ack wait), longer than the lease lasts unrenewed, and a renewal held up that
   * long would let the lease lapse and another instance take it (the partition then went back and forth).
   */
  private startInBackground(c: RunningConsumer, partition: number): void {
    if (c.partitions.has(partition)) return;
    void this.startPartition(c, partition).catch((err: unknown) =>
      this.logger.warn({ msg: 'consumer partition did not start; retrying at the next renewal', consumer: c.definition.name, partition, err: String(err) }),
    );
  }

  private async startPartition(c: RunningConsumer, partition: number): Promise<void> {
    const name = c.definition.name;
    // The restart after an outage and the lease renewal may both try: one consumption per partition.
    const key = this.leaseKey(name, partition);
    if (c.partitions.has(partition) || this.starting.has(key) || this.stopping.has(key)) return;
    const started = this.consumePartition(c, partition).finally(() => this.starting.delete(key));
    this.starting.set(key, started);
    await started;
  }

  private async consumePartition(c: RunningConsumer, partition: number): Promise<void> {
    const name = c.definition.name;
    const consumption = await this.store.consume(
      {
        name: this.durableName(name, partition),
        // Only when the durable is created: after a forced re-creation, from its last known acknowledged event on.
        ...(this.recreateFrom.has(this.durableName(name, partition)) ? { fromPosition: this.recreateFrom.get(this.durableName(name, partition)) } : {}),
        aggregate: c.dispatcher.aggregate,
        ackWaitMs: this.config.CONSUMER_ACK_WAIT_MS,
        maxInFlight: this.config.CONSUMER_MAX_IN_FLIGHT,
        maxAttempts: this.config.CONSUMER_MAX_ATTEMPTS,
        partition: { index: partition, count: this.config.CONSUMER_PARTITIONS },
        park: (parked) => this.park(parked),
      },
      (event) => tracedEvent(c.definition, event, () => this.dispatch(c, event)),
    );
    this.recreateFrom.delete(this.durableName(name, partition));
    // The lease went (lost, handed back, shutting down) while the consumer was starting: it never runs.
    if (!c.leased.has(partition) || this.stopped) {
      // Bounded: its first pull may already have brought events (a previous holder's, redelivered) into handlers.
      await consumption.stop({ drainMs: this.config.CONSUMER_ACK_WAIT_MS });
      return;
    }
    c.partitions.set(partition, consumption);
    this.logger.log({ msg: 'consuming', consumer: name, partition, of: this.config.CONSUMER_PARTITIONS, instanceId: this.instanceId });
    void consumption.ended.then(async (reason) => {
      if (c.partitions.get(partition) !== consumption || this.stopped) return;
      c.partitions.delete(partition);
      this.metrics.consumersRecreated.inc({ consumer: name });
      this.logger.warn({ msg: 'consumer stopped delivering; starting it again', consumer: name, partition, reason: String(reason) });
      // Its handlers still in hand finish first (or are given up after the ack wait, as a crash leaves them): a new
      // consumption started beside them got the server's copy of an event still in a handler here and ran it twice
      // at once, and the events behind it in its stream overtook it.
      await this.stopBeside(c, partition, () => consumption.stop({ drainMs: this.config.CONSUMER_ACK_WAIT_MS }));
      void this.restart(c, partition, reason instanceof LeaderlessConsumerError ? Date.now() - reason.silentForMs : undefined);
    });
  }

  /**
   * Starts a partition again after its consumption ended (a server lost, a cluster restarting), every half second
   * while it is leased here and not running: a start fails while the consumer's group has no leader, and waiting for
   * the next lease renewal (itself failing meanwhile) cost seconds after the leader was back.
   */
  private async restart(c: RunningConsumer, partition: number, unansweredSince?: number): Promise<void> {
    let since = unansweredSince;
    for (let attempt = 1; ; attempt++) {
      await new Promise((r) => setTimeout(r, 500));
      if (this.stopped || !c.leased.has(partition) || c.partitions.has(partition)) return;
      if (since !== undefined && Date.now() - since >= LEADERLESS_CONSUMER_MS && (await this.recreateLeaderless(c, partition, Date.now() - since))) since = undefined;
      try {
        await this.startPartition(c, partition);
        return;
      } catch (err) {
        since ??= Date.now();
        if (attempt === 1 || attempt % 10 === 0) this.logger.warn({ msg: 'restart failed; retrying', consumer: c.definition.name, partition, attempt, err: String(err) });
      }
    }
  }

  /**
   * Not waiting on a durable consumer left without a leader while its stream has one (nats-server 2.9.10 left
   * buffer-deliveries so for 42 s, until the lost node came back, its stream led again after 5 s): the durable is
   * deleted (a meta-leader operation, which needs no leader of the consumer's own) and created again from the
   * event after the last one it was known to have acknowledged, read at the last lease renewal. The events since
   * then are handled again, as after a crash (handlers are idempotent: derived IDs, deduplicated writes), in order.
   * Only when the consumer still does not answer, its stream does, and its acknowledged position is known.
   */
  private async recreateLeaderless(c: RunningConsumer, partition: number, unansweredMs: number): Promise<boolean> {
    const durable = this.durableName(c.definition.name, partition);
    const floor = this.ackFloors.get(durable);
    if (floor === undefined) return false;
    const jsm = await this.jsm();
    if (
      await jsm.consumers.info(EVENTS_STREAM, durable).then(
        () => true,
        () => false,
      )
    )
      return false;
    // The stream answering for a while already (not just back: after a whole-cluster restart the consumers get
    // their leaders a few seconds after the stream, and are not to be re-created for that).
    if (
      !(await this.store.headPosition().then(
        () => true,
        () => false,
      ))
    ) {
      this.streamAnsweringSince.delete(durable);
      return false;
    }
    const answering = this.streamAnsweringSince.get(durable) ?? Date.now();
    this.streamAnsweringSince.set(durable, answering);
    if (Date.now() - answering < STREAM_ANSWERING_MS) return false;
    this.streamAnsweringSince.delete(durable);
    try {
      await jsm.consumers.delete(EVENTS_STREAM, durable);
    } catch (err) {
      this.logger.warn({ msg: 'durable consumer without a leader could not be deleted; retrying', consumer: durable, err: String(err) });
      return false;
    }
    this.recreateFrom.set(durable, floor + 1);
    c.dispatcher.forgetAll();
    this.metrics.consumersRecreated.inc({ consumer: c.definition.name });
    this.logger.warn({
      msg: 'durable consumer without a leader while its stream has one: created again from its last known acknowledged event',
      consumer: durable,
      partition,
      unansweredMs,
      fromPosition: floor + 1,
    });
    return true;
  }

  /**
   * Stops a partition's consumption (`work`: a hand-back, a loss, or the stop of one that ended by itself) beside the
   * lease renewal, not inside it: its work in hand may take up to an ack wait to finish, as long as a lease lasts
   * unrenewed, and a renewal held up that long let this instance's other leases lapse and another instance take them
   * while this one still ran them. The partition is not started again here until the stop is done (the promise).
   */
  private stopBeside(c: RunningConsumer, partition: number, work: () => Promise<void>): Promise<void> {
    const key = this.leaseKey(c.definition.name, partition);
    const running = this.stopping.get(key);
    if (running) return running.done;
    const done = work()
      .catch((err: unknown) => this.logger.warn({ msg: 'stopping a partition failed', consumer: c.definition.name, partition, err: String(err) }))
      .finally(() => this.stopping.delete(key));
    this.stopping.set(key, { done, since: Date.now() });
    return done;
  }

  /** A partition taken by another instance: stop at once (its events in hand go back to the new holder). */
  private async lose(c: RunningConsumer, partition: number): Promise<void> {
    c.leased.delete(partition);
    const consumption = c.partitions.get(partition);
    c.partitions.delete(partition);
    if (!consumption) return;
    this.logger.log({ msg: 'partition moved to another instance', consumer: c.definition.name, partition });
    await consumption.stop({ drainMs: this.config.CONSUMER_ACK_WAIT_MS });
    c.dispatcher.forgetAll();
  }

  /** Hands a partition back (shutdown, or more than a fair share): finish what is in hand, then free the lease. */
  private async release(c: RunningConsumer, partition: number): Promise<void> {
    c.leased.delete(partition);
    await this.starting.get(this.leaseKey(c.definition.name, partition))?.catch(() => undefined);
    const consumption = c.partitions.get(partition);
    c.partitions.delete(partition);
    // Bounded: this runs inside the lease renewal (a fair share handed back) and at shutdown, and a handler that
    // never returned held both up for good. What is left in hand goes to the next holder after its ack wait.
    await consumption?.stop({ drainMs: this.config.CONSUMER_ACK_WAIT_MS });
    const key = this.leaseKey(c.definition.name, partition);
    // Read again when the renewal kept the lease (a new revision) between the read and the delete.
    for (let attempt = 0; attempt < 3; attempt++) {
      const entry = await this.leases?.get(key).catch(() => null);
      if (!entry || entry.operation !== 'PUT' || entry.string() !== this.instanceId) return;
      if (
        await this.leases?.delete(key, { previousSeq: entry.revision }).then(
          () => true,
          () => false,
        )
      )
        return;
    }
  }

  private async dispatch(c: RunningConsumer, event: StoredEvent): Promise<void> {
    try {
      await c.dispatcher.dispatch(event);
      this.metrics.eventsHandled.inc({ consumer: c.definition.name, outcome: 'ok' });
    } catch (err) {
      this.metrics.eventsHandled.inc({ consumer: c.definition.name, outcome: 'error' });
      this.logger.warn({
        msg: 'event handler failed; retrying it before later events of its stream',
        consumer: c.definition.name,
        eventId: event.id,
        type: event.type,
        position: event.position,
        err: String((err as Error)?.message ?? err),
      });
      throw err;
    }
  }

  private async park(parked: ParkedEvent): Promise<void> {
    // Parked like every other publish of the event path: through the one reply subscription.
    this.publisher ??= new JetStreamPublisher(this.nc);
    await this.publisher.publish(parkedSubject(parked.consumer.replace(/-p\d+$/, '')), JSON.stringify(parked), { msgID: `${parked.consumer}.${parked.event.id}` });
    this.metrics.eventsParked.inc({ consumer: parked.consumer });
    this.logger.error({
      msg: 'event parked after repeated failures; the others go on',
      consumer: parked.consumer,
      eventId: parked.event.id,
      type: parked.event.type,
      position: parked.event.position,
      attempts: parked.attempts,
      err: parked.error.split('\n')[0],
    });
  }

  /** Operators send a parked event back with `scripts/parked.mjs replay`: it is handled again, its state read afresh. */
  private async startReplay(c: RunningConsumer): Promise<Consumption> {
    const js = jetStreamClientFor(this.nc);
    const jsm = await this.jsm();
    return consumeDurably(js, jsm, {
      connection: this.nc,
      stream: PARKED_STREAM,
      name: `${c.definition.name}-replay`,
      filterSubject: replaySubject(c.definition.name),
      ackWaitMs: this.config.CONSUMER_ACK_WAIT_MS,
      handle: async (m) => {
        const parked = m.json<ParkedEvent & { parkedSeq?: number }>();
        c.dispatcher.forget(parked.event.aggregate, parked.event.aggregateId);
        // Its stream is read afresh: the state at this event, whatever happened after it.
        const { previousVersion: _ignored, ...event } = parked.event;
        await tracedEvent(c.definition, event, () => this.dispatch(c, event));
        if (parked.parkedSeq) await jsm.streams.deleteMessage(PARKED_STREAM, parked.parkedSeq).catch(() => undefined);
        this.logger.log({ msg: 'parked event replayed', consumer: c.definition.name, eventId: event.id, position: event.position });
      },
    });
  }

  /**
   * Hands every partition back at once, so the other instances take them over now rather than after the TTL: out
   * of the instance count first (their fair share then covers what is freed), then each partition's work in hand
   * finished and its lease deleted; the others see each delete as it is made (watchReleases).
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const watch of this.watches.splice(0)) watch.unsubscribe();
    await this.renewal.stop();
    await this.leases?.delete(`instance.${this.service}.${this.instanceId}`).catch(() => undefined);
    await Promise.allSettled([
      ...[...this.running.values()].flatMap((c) => [...new Set([...c.leased, ...c.partitions.keys()])].map((p) => this.release(c, p))),
      ...[...this.stopping.values()].map((h) => h.done),
    ]);
    await Promise.allSettled([...this.running.values()].map((c) => c.replay?.stop()));
  }
}

export async function ensureParkedStream(nc: NatsConnection, durability: StreamDurability = DEFAULT_DURABILITY): Promise<void> {
  const config = { name: PARKED_STREAM, subjects: ['parley.v1.parked.>'], retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old, max_age: nanos(30 * 24 * 3600 * 1000) };
  await ensureDurableStream(nc, config, durability, ['subjects', 'max_age'], warnSettingsDiffer);
}

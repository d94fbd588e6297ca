import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { jetStreamManagerFor, openKvBucket } from '@parley/event-store';
import { CoalescingTask, LapsedLeases, NATS_CONNECTION, SERVICE_CONFIG, leaseConfirmed, leaseHolderId, renewSoon, renewalPeriodMs, streamDurability } from '@parley/service-kit';
import type { RouterConfig } from './router.config.js';
import { RoutingViewService } from './routing-view.service.js';

/**
 * Partitions the queues among router instances: one owner per queue at a time, by a lease in JetStream KV
 * (`queue.<id>`) that the owner renews. Instances announce themselves (`instance.<id>`) so each takes a fair
 * share. The bucket's TTL ends whatever is not renewed, so when an instance dies its queues go to another
 * within QUEUE_LEASE_SECONDS. An instance shutting down stops routing, then deletes its leases, and the others
 * take them as soon as they see the deletes (a core subscription to the bucket's subjects), not at their next
 * renewal. Ownership only spreads the work: correctness never depends on it,
 * because offers reserve capacity on the agent's stream and offer on the session's with optimistic concurrency.
 */
@Injectable()
export class QueueLeases implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('QueueLeases');
  readonly instanceId: string;
  private kv!: KV;
  private jsm!: JetStreamManager;
  private readonly owned = new Set<string>();
  private readonly task = new CoalescingTask('queue lease renewal', () => this.renew(), this.logger);
  private watch?: Subscription;
  private readonly changed: (() => void)[] = [];
  private readonly beforeRelease: (() => Promise<void>)[] = [];
  /** Queues whose lease lapsed while another router held them are left a renewal period to it. */
  private readonly lapsed = new LapsedLeases(() => this.renewalMs);

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: RouterConfig,
    private readonly view: RoutingViewService,
  ) {
    this.instanceId = config.ROUTER_INSTANCE_ID ?? leaseHolderId();
  }

  async onModuleInit(): Promise<void> {
    this.kv = await openKvBucket(this.nc, 'parley_router_queues', { history: 1, ttl: this.config.QUEUE_LEASE_SECONDS * 1000 }, streamDurability(this.config));
    this.jsm = await jetStreamManagerFor(this.nc);
  }

  async onApplicationBootstrap(): Promise<void> {
    // Every KV write is also a plain message on `$KV.<bucket>.<key>`: a delete (a router handing its queues back)
    // is seen as it is made, without a consumer on the server.
    this.watch = this.nc.subscribe('$KV.parley_router_queues.>', {
      callback: (err, m) => {
        const operation = m?.headers?.get('KV-Operation');
        if (!err && (operation === 'DEL' || operation === 'PURGE')) renewSoon(this.task);
      },
    });
    await this.renew();
    this.task.every(this.renewalMs);
  }

  private get renewalMs(): number {
    return renewalPeriodMs(this.config.QUEUE_LEASE_SECONDS);
  }

  /** Called whenever the queues this instance routes change (the routing loop makes a full pass at once). */
  onChange(listener: () => void): void {
    this.changed.push(listener);
  }

  /** Awaited at shutdown before the leases are deleted: whatever routes with them stops first. */
  onRelease(drain: () => Promise<void>): void {
    this.beforeRelease.push(drain);
  }

  /** The queues this instance routes now. */
  get queues(): ReadonlySet<string> {
    return this.owned;
  }

  /** Queues the view knows: those with sessions and those agents serve. */
  private knownQueues(): Set<string> {
    const state = this.view.runner.state;
    const queues = new Set<string>();
    for (const s of Object.values(state.sessions)) if (s.status === 'queued' || s.status === 'assigned') queues.add(s.place.queueId);
    for (const a of Object.values(state.agents)) if (a.status !== 'unknown' && a.profile.queues) for (const q of a.profile.queues) queues.add(q);
    return queues;
  }

  /** Renews this instance's presence and leases, takes its fair share of unowned queues, and gives back extras. */
  private async renew(): Promise<void> {
    await this.kv.put(`instance.${this.instanceId}`, new Date().toISOString());
    // Counted from the bucket's subjects in one request: `kv.keys()` would leave an ordered consumer behind each time.
    const info = await this.jsm.streams.info('KV_parley_router_queues', { subjects_filter: '$KV.parley_router_queues.instance.>' });
    // A router that shut down leaves a purge marker on its key until the TTL: not counted.
    const prefix = '$KV.parley_router_queues.';
    const live = await Promise.all(
      Object.keys(info.state.subjects ?? {}).map((subject) =>
        this.kv.get(subject.slice(prefix.length)).then(
          (e) => e?.operation === 'PUT',
          () => true,
        ),
      ),
    );
    const instances = Math.max(1, live.filter(Boolean).length);
    const known = [...this.knownQueues()].sort();
    const fairShare = Math.ceil(known.length / Math.max(1, instances));
    const held: string[] = [];
    const free: string[] = [];
    for (const queueId of known) {
      const entry = await this.kv.get(`queue.${queueId}`);
      if (entry && entry.operation === 'PUT' && entry.string() === this.instanceId) {
        try {
          await this.kv.update(`queue.${queueId}`, this.instanceId, entry.revision);
          held.push(queueId);
        } catch {
          // taken over in between
        }
      } else if (!entry || entry.operation !== 'PUT') {
        // Free: the router that routed it until now takes it back at once; another only by the LapsedLeases policy.
        if (!this.owned.has(queueId) && !this.lapsed.mayTake(queueId, !!entry)) continue;
        this.lapsed.forget(queueId);
        free.push(queueId);
      } else this.lapsed.heldByOther(queueId);
    }
    // Those this router routed until now first, then the others.
    free.sort((a, b) => Number(this.owned.has(b)) - Number(this.owned.has(a)));
    // More than a fair share while others are up: give the extras back for them to take.
    for (const queueId of held.splice(fairShare)) {
      const entry = await this.kv.get(`queue.${queueId}`);
      if (entry?.string() === this.instanceId) await this.kv.delete(`queue.${queueId}`, { previousSeq: entry.revision }).catch(() => undefined);
    }
    const taken: string[] = [];
    for (const queueId of free) {
      if (held.length + taken.length >= fairShare) break;
      try {
        await this.kv.create(`queue.${queueId}`, this.instanceId);
        taken.push(queueId);
      } catch {
        // another instance took it first
      }
    }
    // Read back before routing with them (two racing creates can both be accepted by nats-server 2.9).
    const confirmed = await Promise.all(taken.map((queueId) => leaseConfirmed(this.jsm, 'parley_router_queues', `queue.${queueId}`, this.instanceId)));
    held.push(...taken.filter((_, i) => confirmed[i]));
    if (this.task.isStopped) return; // shutting down: the leases are being handed back
    const now = new Set(held);
    let change = false;
    for (const q of now)
      if (!this.owned.has(q)) {
        change = true;
        this.logger.log({ msg: 'routing queue', queueId: q, instanceId: this.instanceId });
      }
    for (const q of this.owned) if (!now.has(q)) this.logger.log({ msg: 'queue routed elsewhere now', queueId: q, instanceId: this.instanceId });
    this.owned.clear();
    for (const q of now) this.owned.add(q);
    if (change) for (const listener of this.changed) listener();
  }

  /**
   * Hands the queues back at shutdown, so another instance takes them at once instead of after the TTL: out of the
   * instance count first (the others' fair share then covers them), routing stopped, then the leases deleted.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.watch?.unsubscribe();
    await this.task.stop();
    const queues = [...this.owned];
    this.owned.clear();
    await this.kv.purge(`instance.${this.instanceId}`).catch(() => undefined);
    await Promise.allSettled(this.beforeRelease.map((drain) => drain()));
    await Promise.allSettled(
      queues.map(async (queueId) => {
        const entry = await this.kv.get(`queue.${queueId}`);
        if (entry && entry.operation === 'PUT' && entry.string() === this.instanceId) await this.kv.delete(`queue.${queueId}`, { previousSeq: entry.revision });
      }),
    );
  }
}

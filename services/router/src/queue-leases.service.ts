import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { openKvBucket } from '@parley/event-store';
import { CoalescingTask, NATS_CONNECTION, SERVICE_CONFIG, streamDurability } from '@parley/service-kit';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RouterConfig } from './router.config.js';
import { RoutingViewService } from './routing-view.service.js';

/**
 * Partitions the queues among router instances: one owner per queue at a time, by a lease in JetStream KV
 * (`queue.<id>`) that the owner renews. Instances announce themselves (`instance.<id>`) so each takes a fair
 * share. The bucket's TTL ends whatever is not renewed, so when an instance dies its queues go to another
 * within QUEUE_LEASE_SECONDS. Ownership only spreads the work: correctness never depends on it,
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

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: RouterConfig,
    private readonly view: RoutingViewService,
  ) {
    this.instanceId =
      config.ROUTER_INSTANCE_ID ??
      `${hostname()
        .replace(/[^A-Za-z0-9_-]/g, '-')
        .slice(0, 40)}-${randomBytes(4).toString('hex')}`;
  }

  async onModuleInit(): Promise<void> {
    this.kv = await openKvBucket(this.nc, 'parley_router_queues', { history: 1, ttl: this.config.QUEUE_LEASE_SECONDS * 1000 }, streamDurability(this.config));
    this.jsm = await jetstreamManager(this.nc);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.renew();
    this.task.every(Math.max(200, Math.floor((this.config.QUEUE_LEASE_SECONDS * 1000) / 3)));
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
    const instances = Math.max(1, Object.keys(info.state.subjects ?? {}).length);
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
      } else if (!entry || entry.operation !== 'PUT') free.push(queueId);
    }
    // More than a fair share while others are up: give the extras back for them to take.
    for (const queueId of held.splice(fairShare)) {
      const entry = await this.kv.get(`queue.${queueId}`);
      if (entry?.string() === this.instanceId) await this.kv.delete(`queue.${queueId}`, { previousSeq: entry.revision }).catch(() => undefined);
    }
    for (const queueId of free) {
      if (held.length >= fairShare) break;
      try {
        await this.kv.create(`queue.${queueId}`, this.instanceId);
        held.push(queueId);
      } catch {
        // another instance took it first
      }
    }
    const now = new Set(held);
    for (const q of now) if (!this.owned.has(q)) this.logger.log({ msg: 'routing queue', queueId: q, instanceId: this.instanceId });
    for (const q of this.owned) if (!now.has(q)) this.logger.log({ msg: 'queue routed elsewhere now', queueId: q, instanceId: this.instanceId });
    this.owned.clear();
    for (const q of now) this.owned.add(q);
  }

  /** Hands the queues back at shutdown, so another instance takes them at once instead of after the TTL. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.task.stop();
    for (const queueId of this.owned) {
      const entry = await this.kv.get(`queue.${queueId}`).catch(() => null);
      if (entry && entry.string() === this.instanceId) await this.kv.delete(`queue.${queueId}`, { previousSeq: entry.revision }).catch(() => undefined);
    }
    await this.kv.purge(`instance.${this.instanceId}`).catch(() => undefined);
    this.owned.clear();
  }
}

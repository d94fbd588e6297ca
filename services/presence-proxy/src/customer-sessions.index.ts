import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { openKvBucket } from '@parley/event-store';
import { NATS_CONNECTION, SERVICE_CONFIG, type ServiceConfig, streamDurability } from '@parley/service-kit';
import { createHash } from 'node:crypto';

export type Claim = { outcome: 'claimed' } | { outcome: 'taken'; sessionId: string; revision: number };

/**
 * Which open session a customer has at an entry point, in JetStream KV. Creating the key is atomic, so two
 * concurrent subscribes of one customer end in one session; a key left by an ended session is replaced by
 * compare-and-set on its revision.
 */
@Injectable()
export class CustomerSessionsIndex implements OnModuleInit {
  private kv!: KV;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.kv = await openKvBucket(this.nc, 'parley_customer_sessions', { history: 1 }, streamDurability(this.config));
  }

  key(entryPointId: string, channel: string, customerAddress: string): string {
    return createHash('sha256').update(`${entryPointId}\n${channel}\n${customerAddress}`).digest('hex');
  }

  async claim(key: string, sessionId: string): Promise<Claim> {
    try {
      await this.kv.create(key, sessionId);
      return { outcome: 'claimed' };
    } catch {
      const entry = await this.kv.get(key);
      if (!entry) return this.claim(key, sessionId);
      // A released claim leaves a delete marker: take it over by its revision.
      if (entry.operation !== 'PUT') return (await this.replace(key, sessionId, entry.revision)) ? { outcome: 'claimed' } : this.claim(key, sessionId);
      return { outcome: 'taken', sessionId: entry.string(), revision: entry.revision };
    }
  }

  /** The session the key points at now, if any (it may have ended: the caller checks). Claims nothing. */
  async current(key: string): Promise<string | undefined> {
    const entry = await this.kv.get(key);
    return entry && entry.operation === 'PUT' ? entry.string() : undefined;
  }

  /** Gives up a claim that did not become a session (the customer was turned away). */
  async release(key: string, sessionId: string): Promise<void> {
    const entry = await this.kv.get(key);
    if (entry && entry.operation === 'PUT' && entry.string() === sessionId) await this.kv.delete(key, { previousSeq: entry.revision }).catch(() => undefined);
  }

  /** Replaces a stale entry; false when another subscribe replaced it first. */
  async replace(key: string, sessionId: string, revision: number): Promise<boolean> {
    try {
      await this.kv.update(key, sessionId, revision);
      return true;
    } catch {
      return false;
    }
  }
}

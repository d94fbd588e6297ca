import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { openKvBucket } from '@parley/event-store';
import { NATS_CONNECTION, SERVICE_CONFIG, type ServiceConfig, streamDurability } from '@parley/service-kit';
import { createHash } from 'node:crypto';

/** Who claimed an address last, and when (the request's time). */
export interface AddressClaim {
  entryPointId: string;
  claimedAt: string;
}

/**
 * How long a claim counts as held while its registration is not in the store yet: a registration writes its event just
 * after claiming, so one racing it finds the claim but not the registration. One that died in between blocks the
 * address this long.
 */
export const CLAIM_GRACE_MS = 10_000;

export type ClaimOutcome = { outcome: 'claimed' } | { outcome: 'held'; by: AddressClaim };

/**
 * Which entry point claimed each published address, in JetStream KV: the one place two registrations of an address,
 * on one instance or on two, cannot both win (a create, or an update at the revision read, checked by the stream).
 * Registration's projection answers lookups; this answers "whose is it" at the moment of a write, and tells a lookup
 * that its projection may be behind a registration made on the other instance.
 */
@Injectable()
export class EntryPointAddressesIndex implements OnModuleInit {
  private kv!: KV;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.kv = await openKvBucket(this.nc, 'parley_entry_point_addresses', { history: 1 }, streamDurability(this.config));
  }

  /** KV keys allow few characters; an address can hold any. */
  private key(address: string): string {
    return createHash('sha256').update(address).digest('hex');
  }

  /** The last claim of an address, if any (its entry point may have let it go since: the caller checks). */
  async claimOf(address: string): Promise<AddressClaim | undefined> {
    const entry = await this.kv.get(this.key(address));
    return entry && entry.operation === 'PUT' ? entry.json<AddressClaim>() : undefined;
  }

  /** Claims an address for an entry point unless another holds it: `holds` says whether an earlier claim still does. */
  async claim(address: string, entryPointId: string, now: string, holds: (claim: AddressClaim) => Promise<boolean>): Promise<ClaimOutcome> {
    const key = this.key(address);
    const mine = JSON.stringify({ entryPointId, claimedAt: now } satisfies AddressClaim);
    for (;;) {
      const entry = await this.kv.get(key);
      if (!entry) {
        if (
          await this.kv.create(key, mine).then(
            () => true,
            () => false, // another claim came first: look again
          )
        )
          return { outcome: 'claimed' };
        continue;
      }
      if (entry.operation === 'PUT') {
        const claim = entry.json<AddressClaim>();
        if (claim.entryPointId === entryPointId) return { outcome: 'claimed' };
        if (await holds(claim)) return { outcome: 'held', by: claim };
      }
      // Free (let go, or a delete marker): taken over at the revision read, or looked at again if another was faster.
      if (
        await this.kv.update(key, mine, entry.revision).then(
          () => true,
          () => false,
        )
      )
        return { outcome: 'claimed' };
    }
  }

  /** Lets an address go (its entry point unregistered, or its registration refused after the claim). */
  async release(address: string, entryPointId: string): Promise<void> {
    const key = this.key(address);
    const entry = await this.kv.get(key);
    if (entry && entry.operation === 'PUT' && entry.json<AddressClaim>().entryPointId === entryPointId) {
      await this.kv.delete(key, { previousSeq: entry.revision }).catch(() => undefined);
    }
  }
}

/** How often a lease of `leaseSeconds` is renewed: three times per lease, at most five times a second. */
export const renewalPeriodMs = (leaseSeconds: number): number => Math.max(200, Math.floor((leaseSeconds * 1000) / 3));

/**
 * When a free lease that was not this holder's may be taken. Handed back (a delete marker) or never seen held (a
 * first start): at once. Lapsed (gone with the TTL while last seen held by another: its holder could not renew,
 * e.g. while the bucket had no leader): only once it has stayed free for a grace period, so that a holder that is
 * alive takes it back and carries on, instead of its work moving and the next holder waiting for what it had in
 * hand. The consumer partitions' leases and the router's queue leases follow this one policy.
 */
export class LapsedLeases {
  /** Keys last seen held by another holder, and since when each is seen lapsed (0: not yet). */
  private readonly since = new Map<string, number>();

  constructor(private readonly graceMs: () => number) {}

  /** The key is held by another holder now: should it lapse, that holder may still be alive. */
  heldByOther(key: string): void {
    this.since.set(key, 0);
  }

  /** This holder takes (or keeps) the key: nothing to remember of it. */
  forget(key: string): void {
    this.since.delete(key);
  }

  /** Whether a free key that was not this holder's may be taken now (`handedBack`: a delete marker, not a lapse). */
  mayTake(key: string, handedBack: boolean, now = Date.now()): boolean {
    if (handedBack || !this.since.has(key)) return true;
    const since = this.since.get(key) || now;
    this.since.set(key, since);
    return now - since >= this.graceMs();
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CenterSettings } from '@parley/center-config';
import { EntryPointRequest, LookupRequest, RegisterEntryPointRequest, SUBJECTS } from '@parley/contracts';
import { entryPointAggregate, isEntryPointRegistered, isOpen, nextOpening } from '@parley/domain';
import { conflict, unavailable } from '@parley/errors';
import { CommandHandler, VersionConflictError } from '@parley/event-store';
import { CENTER_SETTINGS, CLOCK, type Clock, Handles, type RequestContext, commandContext } from '@parley/service-kit';
import { type AddressClaim, CLAIM_GRACE_MS, EntryPointAddressesIndex } from './entry-point-addresses.index.js';
import type { EntryPointRegistry } from './registry.projection.js';
import { RegistryService } from './registry.service.js';

const stream = (entryPointId: string) => entryPointAggregate.stream(entryPointId);
/** Claims made again because the entry point's stream moved between the claim and the registration. */
const MAX_REGISTER_ATTEMPTS = 5;
/**
 * How long after its lease runs out an entry point still holds its address against others: a heartbeat decided on its
 * request's time just before the end may be written just after it (and the lease sweeper may not have ended it yet).
 */
export const LEASE_END_MARGIN_MS = 5_000;

/** Contact-center presence: an entry point is registered while its lease runs. */
@Injectable()
export class EntryPointsHandler {
  private readonly logger = new Logger('EntryPointsHandler');

  constructor(
    private readonly commands: CommandHandler,
    private readonly registry: RegistryService,
    private readonly addresses: EntryPointAddressesIndex,
    @Inject(CENTER_SETTINGS) private readonly center: CenterSettings,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    commands.track(entryPointAggregate);
  }

  @Handles(SUBJECTS.registrationRegister, RegisterEntryPointRequest)
  async register(req: RegisterEntryPointRequest, ctx: RequestContext) {
    const registry = await this.registry.settled();
    const holder = registry.byAddress[req.address];
    const held = holder && holder !== req.entryPointId ? registry.entryPoints[holder] : undefined;
    // Registrations made before the address index existed have no claim: the projection still names their holder,
    // confirmed from the holder's own stream (this projection may not have its unregistration, made on the other
    // instance, yet).
    if (holder && held && isEntryPointRegistered(held, ctx.now) && held.address === req.address && (await this.registeredAt(holder, req.address, ctx.now)).held) {
      throw conflict('this address is registered by another entry point', { address: req.address, entryPointId: holder });
    }
    // The projection alone let two registrations of one address at once both through (each found it free before
    // either was written, on one instance or on two): the claim in KV is what only one of them can win. The
    // registration is then written at the version the claim names, so "its stream has not moved" is what tells a
    // rival the registration is still on its way; a heartbeat or the lease sweeper moving it meanwhile means claim again.
    for (let attempt = 1; ; attempt++) {
      const { version } = await this.commands.load(stream(req.entryPointId), { verify: true });
      // Stamped with the time of the claim itself, not of the request: rivals count the grace from it.
      const claimedAt = this.clock.now();
      const claim = await this.addresses.claim(req.address, { entryPointId: req.entryPointId, claimedAt, streamVersion: version }, (c) => this.holds(c, req.address, ctx.now));
      if (claim.outcome === 'held') {
        throw conflict('this address is registered by another entry point', { address: req.address, entryPointId: claim.by.entryPointId });
      }
      // A registration held up past half the claim's grace (a NATS fault, a stalled projection) may have been
      // overtaken by a rival that found the claim stale: it gives up rather than write beside it.
      if (Date.parse(this.clock.now()) - Date.parse(claimedAt) > CLAIM_GRACE_MS / 2) {
        throw unavailable('the registration took too long; try again', { address: req.address });
      }
      try {
        const { state } = await this.commands.handle(
          stream(req.entryPointId),
          {
            kind: 'register',
            registration: { address: req.address, queueId: req.queueId, displayName: req.displayName ?? null, flowId: req.flowId ?? null, leaseSeconds: req.leaseSeconds },
            now: ctx.now,
          },
          commandContext(ctx.now, `entrypoint:${req.entryPointId}`),
          { atVersion: version },
        );
        return { entryPointId: req.entryPointId, expiresAt: state.status === 'registered' ? state.expiresAt : ctx.now };
      } catch (err) {
        if (!(err instanceof VersionConflictError) || attempt >= MAX_REGISTER_ATTEMPTS) throw err;
      }
    }
  }

  @Handles(SUBJECTS.registrationHeartbeat, EntryPointRequest)
  async heartbeat(req: EntryPointRequest, ctx: RequestContext) {
    const { state } = await this.commands.handle(stream(req.entryPointId), { kind: 'heartbeat', now: ctx.now }, commandContext(ctx.now, `entrypoint:${req.entryPointId}`));
    return { expiresAt: state.status === 'registered' ? state.expiresAt : ctx.now };
  }

  @Handles(SUBJECTS.registrationUnregister, EntryPointRequest)
  async unregister(req: EntryPointRequest, ctx: RequestContext) {
    // The claim as it is before the unregistration: released only if nobody (this entry point registering again among
    // them) claimed the address since.
    const { state: before } = await this.commands.load(stream(req.entryPointId), { verify: true });
    const address = before.status === 'registered' ? before.address : undefined;
    const claim = address ? await this.addresses.claimOf(address).catch(() => undefined) : undefined;
    await this.commands.handle(stream(req.entryPointId), { kind: 'unregister', now: ctx.now }, commandContext(ctx.now, `entrypoint:${req.entryPointId}`));
    if (address && claim?.entryPointId === req.entryPointId) await this.addresses.release(address, claim.revision);
    return {};
  }

  @Handles(SUBJECTS.registrationLookup, LookupRequest)
  async lookup(req: LookupRequest, ctx: RequestContext) {
    const registry = await this.registry.settled();
    const answer = this.answer(registry, req.address, ctx.now);
    if (answer.registered) return answer;
    // Registered moments ago on the other instance, whose event this projection may not have yet: then, and only
    // then, it catches up with the store's head (one request) before answering "not registered". Without the index
    // (a NATS fault) the projection's answer stands.
    let claim: AddressClaim | undefined;
    try {
      claim = await this.addresses.claimOf(req.address);
    } catch (err) {
      this.logger.warn({ msg: 'address index not answering; the lookup answers from the projection', err: String((err as Error).cause ?? err) });
      return answer;
    }
    if (!claim || Date.parse(ctx.now) - Date.parse(claim.claimedAt) >= CLAIM_GRACE_MS) return answer;
    return this.answer(await this.registry.fresh(), req.address, ctx.now);
  }

  /**
   * Whether an entry point holds an address now, from its own stream (not a projection that may lag it): registered
   * there, its lease running or ended less than LEASE_END_MARGIN_MS ago.
   */
  private async registeredAt(entryPointId: string, address: string, now: string): Promise<{ held: boolean; version: number }> {
    const { state, version } = await this.commands.load(stream(entryPointId), { verify: true });
    const held = state.status === 'registered' && state.address === address && Date.parse(state.expiresAt) + LEASE_END_MARGIN_MS > Date.parse(now);
    return { held, version };
  }

  /**
   * Whether an earlier claim of another entry point still holds an address: registered there with its lease running,
   * or its registration still on the way (its stream where it was when the claim was made) while the claim is younger
   * than CLAIM_GRACE_MS. Unregistered, its lease run out, or registered elsewhere since: free.
   */
  private async holds(claim: AddressClaim, address: string, now: string): Promise<boolean> {
    const { held, version } = await this.registeredAt(claim.entryPointId, address, now);
    return held || (version === claim.streamVersion && Date.parse(now) - Date.parse(claim.claimedAt) < CLAIM_GRACE_MS);
  }

  private answer(registry: EntryPointRegistry, address: string, now: string) {
    const entryPointId = registry.byAddress[address];
    const state = entryPointId ? registry.entryPoints[entryPointId] : undefined;
    // byAddress keeps an entry point's earlier address after it moves: the address must still be its own.
    if (!entryPointId || !state || !isEntryPointRegistered(state, now) || state.address !== address) return { registered: false as const, open: false };
    const found = { registered: true as const, entryPointId, queueId: state.queueId, flowId: state.flowId, displayName: state.displayName };
    const hours = this.center.hoursFor(entryPointId);
    if (!hours || isOpen(hours, Date.parse(now))) return { ...found, open: true };
    const opensAt = nextOpening(hours, Date.parse(now));
    return { ...found, open: false, opensAt: opensAt === null ? null : new Date(opensAt).toISOString(), leaveMessage: hours.leaveMessage, closedMessage: hours.closedMessage };
  }
}

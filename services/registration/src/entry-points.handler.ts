import { Inject, Injectable } from '@nestjs/common';
import type { CenterSettings } from '@parley/center-config';
import { EntryPointRequest, LookupRequest, RegisterEntryPointRequest, SUBJECTS } from '@parley/contracts';
import { entryPointAggregate, isEntryPointRegistered, isOpen, nextOpening } from '@parley/domain';
import { conflict } from '@parley/errors';
import { CommandHandler } from '@parley/event-store';
import { CENTER_SETTINGS, Handles, type RequestContext, commandContext } from '@parley/service-kit';
import { type AddressClaim, CLAIM_GRACE_MS, EntryPointAddressesIndex } from './entry-point-addresses.index.js';
import type { EntryPointRegistry } from './registry.projection.js';
import { RegistryService } from './registry.service.js';

const stream = (entryPointId: string) => entryPointAggregate.stream(entryPointId);

/** Contact-center presence: an entry point is registered while its lease runs. */
@Injectable()
export class EntryPointsHandler {
  constructor(
    private readonly commands: CommandHandler,
    private readonly registry: RegistryService,
    private readonly addresses: EntryPointAddressesIndex,
    @Inject(CENTER_SETTINGS) private readonly center: CenterSettings,
  ) {
    commands.track(entryPointAggregate);
  }

  @Handles(SUBJECTS.registrationRegister, RegisterEntryPointRequest)
  async register(req: RegisterEntryPointRequest, ctx: RequestContext) {
    const registry = await this.registry.settled();
    const holder = registry.byAddress[req.address];
    const held = holder && holder !== req.entryPointId ? registry.entryPoints[holder] : undefined;
    if (held && isEntryPointRegistered(held, ctx.now)) {
      throw conflict('this address is registered by another entry point', { address: req.address, entryPointId: holder });
    }
    // The projection alone let two registrations of one address at once both through (each found it free before
    // either was written, on one instance or on two): the claim in KV is what only one of them can win.
    const claim = await this.addresses.claim(req.address, req.entryPointId, ctx.now, (c) => this.holds(c, req.address, ctx.now));
    if (claim.outcome === 'held') {
      throw conflict('this address is registered by another entry point', { address: req.address, entryPointId: claim.by.entryPointId });
    }
    const result = await this.commands.handle(
      stream(req.entryPointId),
      {
        kind: 'register',
        registration: { address: req.address, queueId: req.queueId, displayName: req.displayName ?? null, flowId: req.flowId ?? null, leaseSeconds: req.leaseSeconds },
        now: ctx.now,
      },
      commandContext(ctx.now, `entrypoint:${req.entryPointId}`),
    );
    const state = result.state;
    return { entryPointId: req.entryPointId, expiresAt: state.status === 'registered' ? state.expiresAt : ctx.now };
  }

  @Handles(SUBJECTS.registrationHeartbeat, EntryPointRequest)
  async heartbeat(req: EntryPointRequest, ctx: RequestContext) {
    const { state } = await this.commands.handle(stream(req.entryPointId), { kind: 'heartbeat', now: ctx.now }, commandContext(ctx.now, `entrypoint:${req.entryPointId}`));
    return { expiresAt: state.status === 'registered' ? state.expiresAt : ctx.now };
  }

  @Handles(SUBJECTS.registrationUnregister, EntryPointRequest)
  async unregister(req: EntryPointRequest, ctx: RequestContext) {
    const { state } = await this.commands.handle(stream(req.entryPointId), { kind: 'unregister', now: ctx.now }, commandContext(ctx.now, `entrypoint:${req.entryPointId}`));
    if (state.status === 'unregistered') await this.addresses.release(state.address, req.entryPointId);
    return {};
  }

  @Handles(SUBJECTS.registrationLookup, LookupRequest)
  async lookup(req: LookupRequest, ctx: RequestContext) {
    const registry = await this.registry.settled();
    const answer = this.answer(registry, req.address, ctx.now);
    if (answer.registered) return answer;
    // Registered moments ago on the other instance, whose event this projection may not have yet: then, and only
    // then, it catches up with the store's head (one request) before answering "not registered".
    const claim = await this.addresses.claimOf(req.address);
    if (!claim || Date.parse(ctx.now) - Date.parse(claim.claimedAt) >= CLAIM_GRACE_MS) return answer;
    return this.answer(await this.registry.fresh(), req.address, ctx.now);
  }

  /**
   * Whether an earlier claim still holds an address, from its entry point's own stream (not a projection that may lag
   * it): registered there with its lease running; or its registration still on the way (the stream shows nothing
   * for this address yet) while the claim is younger than CLAIM_GRACE_MS. Unregistered, or its lease run out: free.
   */
  private async holds(claim: AddressClaim, address: string, now: string): Promise<boolean> {
    const { state } = await this.commands.load(stream(claim.entryPointId), { verify: true });
    if (isEntryPointRegistered(state, now) && state.address === address) return true;
    const settled = state.status !== 'none' && state.address === address;
    return !settled && Date.parse(now) - Date.parse(claim.claimedAt) < CLAIM_GRACE_MS;
  }

  private answer(registry: EntryPointRegistry, address: string, now: string) {
    const entryPointId = registry.byAddress[address];
    const state = entryPointId ? registry.entryPoints[entryPointId] : undefined;
    if (!entryPointId || !state || !isEntryPointRegistered(state, now)) return { registered: false as const, open: false };
    const found = { registered: true as const, entryPointId, queueId: state.queueId, flowId: state.flowId, displayName: state.displayName };
    const hours = this.center.hoursFor(entryPointId);
    if (!hours || isOpen(hours, Date.parse(now))) return { ...found, open: true };
    const opensAt = nextOpening(hours, Date.parse(now));
    return { ...found, open: false, opensAt: opensAt === null ? null : new Date(opensAt).toISOString(), leaveMessage: hours.leaveMessage, closedMessage: hours.closedMessage };
  }
}

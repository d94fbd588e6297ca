import { Inject, Injectable } from '@nestjs/common';
import type { CenterSettings } from '@parley/center-config';
import { EntryPointRequest, LookupRequest, RegisterEntryPointRequest, SUBJECTS } from '@parley/contracts';
import { entryPointAggregate, isEntryPointRegistered, isOpen, nextOpening } from '@parley/domain';
import { conflict } from '@parley/errors';
import { CommandHandler } from '@parley/event-store';
import { CENTER_SETTINGS, Handles, type RequestContext, commandContext } from '@parley/service-kit';
import { RegistryService } from './registry.service.js';

const stream = (entryPointId: string) => entryPointAggregate.stream(entryPointId);

/** Contact-center presence: an entry point is registered while its lease runs. */
@Injectable()
export class EntryPointsHandler {
  constructor(
    private readonly commands: CommandHandler,
    private readonly registry: RegistryService,
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
    await this.commands.handle(stream(req.entryPointId), { kind: 'unregister', now: ctx.now }, commandContext(ctx.now, `entrypoint:${req.entryPointId}`));
    return {};
  }

  @Handles(SUBJECTS.registrationLookup, LookupRequest)
  async lookup(req: LookupRequest, ctx: RequestContext) {
    const registry = await this.registry.settled();
    const entryPointId = registry.byAddress[req.address];
    const state = entryPointId ? registry.entryPoints[entryPointId] : undefined;
    if (!entryPointId || !state || !isEntryPointRegistered(state, ctx.now)) return { registered: false, open: false };
    const found = { registered: true, entryPointId, queueId: state.queueId, flowId: state.flowId, displayName: state.displayName };
    const hours = this.center.hoursFor(entryPointId);
    if (!hours || isOpen(hours, Date.parse(ctx.now))) return { ...found, open: true };
    const opensAt = nextOpening(hours, Date.parse(ctx.now));
    return { ...found, open: false, opensAt: opensAt === null ? null : new Date(opensAt).toISOString(), leaveMessage: hours.leaveMessage, closedMessage: hours.closedMessage };
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { AgentLoginRequest, AgentRequest, AgentStateRequest, SUBJECTS } from '@parley/contracts';
import { agentAggregate, presenceOf } from '@parley/domain';
import { CommandHandler } from '@parley/event-store';
import { Handles, type RequestContext, SERVICE_CONFIG, commandContext } from '@parley/service-kit';
import type { RegistrationConfig } from './registration.config.js';

const stream = (agentId: string) => agentAggregate.stream(agentId);

/** Agent presence: login with a lease, heartbeats, state changes. */
@Injectable()
export class AgentsHandler {
  constructor(
    private readonly commands: CommandHandler,
    @Inject(SERVICE_CONFIG) private readonly config: RegistrationConfig,
  ) {
    // The registry projection sees every agent event: agents are followed from their first one.
    commands.track(agentAggregate);
  }

  @Handles(SUBJECTS.agentLogin, AgentLoginRequest)
  async login(req: AgentLoginRequest, ctx: RequestContext) {
    const profile = {
      displayName: req.displayName,
      kind: req.kind,
      skills: req.skills,
      languages: req.languages,
      capacity: req.capacity ?? this.config.DEFAULT_AGENT_CAPACITY,
      capabilities: req.capabilities,
      queues: req.queues ?? null,
      wrapUpSeconds: req.wrapUpSeconds ?? this.config.DEFAULT_WRAP_UP_SECONDS,
    };
    const { state } = await this.commands.handle(
      stream(req.agentId),
      { kind: 'login', profile, leaseSeconds: req.leaseSeconds ?? this.config.AGENT_LEASE_SECONDS, now: ctx.now },
      commandContext(ctx.now, `agent:${req.agentId}`),
    );
    return { agentId: req.agentId, state: presenceOf(state, ctx.now), expiresAt: state.status === 'available' || state.status === 'away' ? state.expiresAt : undefined };
  }

  @Handles(SUBJECTS.agentHeartbeat, AgentRequest)
  async heartbeat(req: AgentRequest, ctx: RequestContext) {
    const { state } = await this.commands.handle(stream(req.agentId), { kind: 'heartbeat', now: ctx.now }, commandContext(ctx.now, `agent:${req.agentId}`));
    return { expiresAt: state.status === 'available' || state.status === 'away' ? state.expiresAt : ctx.now };
  }

  @Handles(SUBJECTS.agentState, AgentStateRequest)
  async changeState(req: AgentStateRequest, ctx: RequestContext) {
    const { state } = await this.commands.handle(
      stream(req.agentId),
      { kind: 'change-state', state: req.state, reason: req.reason ?? null, now: ctx.now },
      commandContext(ctx.now, `agent:${req.agentId}`),
    );
    return { agentId: req.agentId, state: presenceOf(state, ctx.now) };
  }
}

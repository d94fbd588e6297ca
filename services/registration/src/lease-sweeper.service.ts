import { Inject, Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { agentAggregate, entryPointAggregate } from '@parley/domain';
import { CommandHandler } from '@parley/event-store';
import { SERVICE_CONFIG, commandContext } from '@parley/service-kit';
import type { RegistrationConfig } from './registration.config.js';
import { RegistryService } from './registry.service.js';

/**
 * Records the end of leases that ran out. Lookups already treat an expired lease as unregistered; these events
 * take lost agents offline (so their offers are withdrawn) and tell analysts when presence ended.
 */
@Injectable()
export class LeaseSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('LeaseSweeper');
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly commands: CommandHandler,
    private readonly registry: RegistryService,
    @Inject(SERVICE_CONFIG) private readonly config: RegistrationConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (!this.sweeping) this.sweeping = this.sweep(new Date().toISOString()).finally(() => (this.sweeping = undefined));
    }, this.config.LEASE_SWEEP_INTERVAL_MS);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  async sweep(now: string): Promise<void> {
    const t = Date.parse(now);
    const { agents, entryPoints } = this.registry.runner.state;
    try {
      for (const [agentId, agent] of Object.entries(agents)) {
        if ((agent.status === 'available' || agent.status === 'away') && Date.parse(agent.expiresAt) <= t) {
          await this.commands.handle(agentAggregate.stream(agentId), { kind: 'expire-lease', now }, commandContext(now, 'system:registration', `lease-${agentId}-${agent.expiresAt}`));
          this.logger.log({ msg: 'agent lease expired; agent is offline', agentId });
        }
      }
      for (const [entryPointId, ep] of Object.entries(entryPoints)) {
        if (ep.status === 'registered' && Date.parse(ep.expiresAt) <= t) {
          await this.commands.handle(entryPointAggregate.stream(entryPointId), { kind: 'expire-lease', now }, commandContext(now, 'system:registration', `lease-${entryPointId}-${ep.expiresAt}`));
          this.logger.log({ msg: 'entry point lease expired', entryPointId });
        }
      }
    } catch (err) {
      this.logger.warn({ msg: 'lease sweep failed; retrying next tick', err: String(err) });
    }
  }
}

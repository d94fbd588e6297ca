import { Module } from '@nestjs/common';
import { ParleyPlatformModule, type ServiceDefinition, centerSettingsProvider } from '@parley/service-kit';
import { IntakeProcessManager } from './intake.process-manager.js';
import { CustomerSessionsIndex } from './customer-sessions.index.js';
import { PresenceProxyConfig } from './presence-proxy.config.js';
import { SessionLookupHandler } from './session-lookup.handler.js';
import { SubscribeHandler } from './subscribe.handler.js';

@Module({})
class PresenceProxyModule {}

export const presenceProxyService: ServiceDefinition<PresenceProxyConfig> = {
  name: 'presence-proxy',
  config: PresenceProxyConfig,
  module: (config) => ({
    module: PresenceProxyModule,
    imports: [ParleyPlatformModule.forService('presence-proxy', config)],
    providers: [centerSettingsProvider(config.PARLEY_CENTER_FILE), CustomerSessionsIndex, SubscribeHandler, SessionLookupHandler, IntakeProcessManager],
  }),
};

import { Module } from '@nestjs/common';
import { ParleyPlatformModule, type ServiceDefinition } from '@parley/service-kit';
import { CustomerSessionsIndex } from './customer-sessions.index.js';
import { PresenceProxyConfig } from './presence-proxy.config.js';
import { SubscribeHandler } from './subscribe.handler.js';

@Module({})
class PresenceProxyModule {}

export const presenceProxyService: ServiceDefinition<PresenceProxyConfig> = {
  name: 'presence-proxy',
  config: PresenceProxyConfig,
  module: (config) => ({
    module: PresenceProxyModule,
    imports: [ParleyPlatformModule.forService('presence-proxy', config)],
    providers: [CustomerSessionsIndex, SubscribeHandler],
  }),
};

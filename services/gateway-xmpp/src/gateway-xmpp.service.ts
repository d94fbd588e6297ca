import { Module } from '@nestjs/common';
import { ParleyPlatformModule, type ServiceDefinition } from '@parley/service-kit';
import { AgentChannel } from './agent-channel.service.js';
import { AgentRoster } from './agent-roster.js';
import { CustomerChannel } from './customer-channel.service.js';
import { DeliveryRelay } from './delivery-relay.service.js';
import { GatewayXmppConfig } from './gateway-xmpp.config.js';
import { ImSignals } from './im-signals.service.js';
import { XmppComponent } from './xmpp-component.service.js';

@Module({})
class GatewayXmppModule {}

export const gatewayXmppService: ServiceDefinition<GatewayXmppConfig> = {
  name: 'gateway-xmpp',
  config: GatewayXmppConfig,
  module: (config) => ({
    module: GatewayXmppModule,
    imports: [ParleyPlatformModule.forService('gateway-xmpp', config, { events: false })],
    providers: [{ provide: AgentRoster, useValue: AgentRoster.load(config.XMPP_AGENTS_FILE) }, XmppComponent, ImSignals, CustomerChannel, AgentChannel, DeliveryRelay],
  }),
};

import { Module } from '@nestjs/common';
import { ParleyPlatformModule, type ServiceDefinition, centerSettingsProvider } from '@parley/service-kit';
import { OfferMetrics } from './offer-metrics.js';
import { QueueLeases } from './queue-leases.service.js';
import { AgentFollowUps, SessionFollowUps } from './offer.process-manager.js';
import { OffersHandler } from './offers.handler.js';
import { RouterConfig } from './router.config.js';
import { RoutingLoop } from './routing-loop.service.js';
import { RoutingViewService } from './routing-view.service.js';

@Module({})
class RouterModule {}

export const routerService: ServiceDefinition<RouterConfig> = {
  name: 'router',
  config: RouterConfig,
  module: (config) => ({
    module: RouterModule,
    imports: [ParleyPlatformModule.forService('router', config)],
    providers: [centerSettingsProvider(config.PARLEY_CENTER_FILE), RoutingViewService, QueueLeases, OfferMetrics, RoutingLoop, OffersHandler, SessionFollowUps, AgentFollowUps],
  }),
};

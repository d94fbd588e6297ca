import { Module } from '@nestjs/common';
import { ParleyPlatformModule, type ServiceDefinition } from '@parley/service-kit';
import { OfferProcessManager } from './offer.process-manager.js';
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
    providers: [RoutingViewService, RoutingLoop, OffersHandler, OfferProcessManager],
  }),
};

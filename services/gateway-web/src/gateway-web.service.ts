import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ParleyPlatformModule, type ServiceDefinition } from '@parley/service-kit';
import { DeliveryFeed } from './delivery-feed.service.js';
import { GatewayWebConfig } from './gateway-web.config.js';
import { HttpErrorsFilter } from './http-errors.filter.js';
import { PagesController } from './pages.controller.js';
import { SocketHub } from './socket-hub.service.js';
import { TokenRevocations } from './token-revocations.service.js';
import { TokenSigner } from './tokens.js';
import { WebApiController } from './web-api.controller.js';
import { DashboardService } from './dashboard.service.js';
import { DeskApiController } from './desk-api.controller.js';
import { LiveEvents } from './live-events.service.js';
import { SupervisorApiController } from './supervisor-api.controller.js';
import { WebUsers } from './web-users.js';

@Module({})
class GatewayWebModule {}

export const gatewayWebService: ServiceDefinition<GatewayWebConfig> = {
  name: 'gateway-web',
  config: GatewayWebConfig,
  module: (config) => ({
    module: GatewayWebModule,
    imports: [ParleyPlatformModule.forService('gateway-web', config, { events: false })],
    controllers: [WebApiController, DeskApiController, SupervisorApiController, PagesController],
    providers: [
      TokenRevocations,
      { provide: TokenSigner, inject: [TokenRevocations], useFactory: (revocations: TokenRevocations) => new TokenSigner(config.WEB_JWT_SECRET, revocations) },
      { provide: WebUsers, useValue: WebUsers.load(config.WEB_USERS_FILE) },
      { provide: APP_FILTER, useClass: HttpErrorsFilter },
      DeliveryFeed,
      LiveEvents,
      DashboardService,
      SocketHub,
    ],
  }),
};

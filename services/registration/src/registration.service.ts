import { Module } from '@nestjs/common';
import { ParleyPlatformModule, type ServiceDefinition, centerSettingsProvider } from '@parley/service-kit';
import { AgentsHandler } from './agents.handler.js';
import { CannedResponsesHandler } from './canned-responses.handler.js';
import { EntryPointAddressesIndex } from './entry-point-addresses.index.js';
import { EntryPointsHandler } from './entry-points.handler.js';
import { LeaseSweeper } from './lease-sweeper.service.js';
import { RegistrationConfig } from './registration.config.js';
import { AgentRegistryService, RegistryService } from './registry.service.js';

@Module({})
class RegistrationModule {}

export const registrationService: ServiceDefinition<RegistrationConfig> = {
  name: 'registration',
  config: RegistrationConfig,
  module: (config) => ({
    module: RegistrationModule,
    imports: [ParleyPlatformModule.forService('registration', config)],
    providers: [
      centerSettingsProvider(config.PARLEY_CENTER_FILE),
      RegistryService,
      AgentRegistryService,
      EntryPointAddressesIndex,
      EntryPointsHandler,
      AgentsHandler,
      LeaseSweeper,
      CannedResponsesHandler,
    ],
  }),
};

import { Module } from '@nestjs/common';
import { ParleyPlatformModule, type ServiceDefinition } from '@parley/service-kit';
import { BufferConfig } from './buffer.config.js';
import { ConversationHandler } from './conversation.handler.js';
import { SessionExtrasHandler } from './session-extras.handler.js';
import { DeliveryProcessManager } from './delivery.process-manager.js';

@Module({})
class BufferModule {}

export const bufferService: ServiceDefinition<BufferConfig> = {
  name: 'buffer',
  config: BufferConfig,
  module: (config) => ({
    module: BufferModule,
    imports: [ParleyPlatformModule.forService('buffer', config)],
    providers: [ConversationHandler, DeliveryProcessManager, SessionExtrasHandler],
  }),
};

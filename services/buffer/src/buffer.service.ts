import { Module } from '@nestjs/common';
import { ConsumerSupervisor, ParleyPlatformModule, type ServiceDefinition } from '@parley/service-kit';
import { BufferConfig } from './buffer.config.js';
import { ConsumerProgress, ConversationHandler } from './conversation.handler.js';
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
    // The status path asks the consumers' supervisor how far the deliveries' follow-up got.
    providers: [ConversationHandler, DeliveryProcessManager, SessionExtrasHandler, { provide: ConsumerProgress, useExisting: ConsumerSupervisor }],
  }),
};

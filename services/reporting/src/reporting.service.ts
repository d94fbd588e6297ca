import { Module } from '@nestjs/common';
import { ParleyPlatformModule, type ServiceDefinition } from '@parley/service-kit';
import { ExplainHandler } from './explain.handler.js';
import { QueueHistory } from './queue-history.service.js';
import { QueueViewService } from './queue-view.service.js';
import { ReportingConfig } from './reporting.config.js';
import { StatsHandler } from './stats.handler.js';
import { StatusNotifier } from './status-notifier.service.js';

@Module({})
class ReportingModule {}

export const reportingService: ServiceDefinition<ReportingConfig> = {
  name: 'reporting',
  config: ReportingConfig,
  module: (config) => ({
    module: ReportingModule,
    imports: [ParleyPlatformModule.forService('reporting', config)],
    providers: [QueueViewService, QueueHistory, StatusNotifier, StatsHandler, ExplainHandler],
  }),
};

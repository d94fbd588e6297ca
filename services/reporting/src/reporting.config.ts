import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { ServiceConfig } from '@parley/service-kit';

export class ReportingConfig extends ServiceConfig {
  @Type(() => Number)
  @IsInt({ message: 'STATUS_INTERVAL_SECONDS must be an integer' })
  @Min(1)
  @Max(3_600)
  STATUS_INTERVAL_SECONDS = 30;

  /** Handle time assumed for estimates until a queue has finished conversations of its own. */
  @Type(() => Number)
  @IsInt({ message: 'DEFAULT_HANDLE_SECONDS must be an integer' })
  @Min(1)
  DEFAULT_HANDLE_SECONDS = 180;

  /** The service level is the share of sessions answered within this many seconds. */
  @Type(() => Number)
  @IsInt({ message: 'SERVICE_LEVEL_SECONDS must be an integer' })
  @Min(1)
  SERVICE_LEVEL_SECONDS = 20;

  /** How often the queue history (the last hour) is sampled. */
  @Type(() => Number)
  @IsInt({ message: 'HISTORY_SAMPLE_SECONDS must be an integer' })
  @Min(1)
  HISTORY_SAMPLE_SECONDS = 10;
}

import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { ServiceConfig } from '@parley/service-kit';

export class PresenceProxyConfig extends ServiceConfig {
  @Type(() => Number)
  @IsInt({ message: 'LOOKUP_TIMEOUT_MS must be an integer' })
  @Min(100)
  @Max(60_000)
  LOOKUP_TIMEOUT_MS = 3_000;

  /** How long a subscribe to a queue with limits waits for reporting's figures before it lets the customer in. */
  @Type(() => Number)
  @IsInt({ message: 'QUEUE_STATS_TIMEOUT_MS must be an integer' })
  @Min(100)
  @Max(60_000)
  QUEUE_STATS_TIMEOUT_MS = 1_000;
}

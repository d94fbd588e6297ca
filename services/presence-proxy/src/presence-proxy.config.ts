import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { ServiceConfig } from '@parley/service-kit';

export class PresenceProxyConfig extends ServiceConfig {
  @Type(() => Number)
  @IsInt({ message: 'LOOKUP_TIMEOUT_MS must be an integer' })
  @Min(100)
  @Max(60_000)
  LOOKUP_TIMEOUT_MS = 3_000;
}

import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { ServiceConfig } from '@parley/service-kit';

export class RegistrationConfig extends ServiceConfig {
  @Type(() => Number)
  @IsInt({ message: 'AGENT_LEASE_SECONDS must be an integer' })
  @Min(5)
  @Max(86_400)
  AGENT_LEASE_SECONDS = 60;

  @Type(() => Number)
  @IsInt({ message: 'DEFAULT_AGENT_CAPACITY must be an integer' })
  @Min(1)
  @Max(100)
  DEFAULT_AGENT_CAPACITY = 1;

  @Type(() => Number)
  @IsInt({ message: 'DEFAULT_WRAP_UP_SECONDS must be an integer' })
  @Min(0)
  @Max(3_600)
  DEFAULT_WRAP_UP_SECONDS = 0;

  @Type(() => Number)
  @IsInt({ message: 'LEASE_SWEEP_INTERVAL_MS must be an integer' })
  @Min(100)
  LEASE_SWEEP_INTERVAL_MS = 1_000;
}

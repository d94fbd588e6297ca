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
  @IsInt({ message: 'LEASE_SWEEP_INTERVAL_MS must be an integer' })
  @Min(100)
  LEASE_SWEEP_INTERVAL_MS = 1_000;
}

import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { ServiceConfig } from '@parley/service-kit';

export class RouterConfig extends ServiceConfig {
  @Type(() => Number)
  @IsInt({ message: 'OFFER_TIMEOUT_SECONDS must be an integer' })
  @Min(1)
  @Max(3_600)
  OFFER_TIMEOUT_SECONDS = 30;

  @Type(() => Number)
  @IsInt({ message: 'MAX_MISSED_OFFERS must be an integer' })
  @Min(1)
  MAX_MISSED_OFFERS = 3;

  @Type(() => Number)
  @IsInt({ message: 'DECLINE_COOLDOWN_SECONDS must be an integer' })
  @Min(0)
  DECLINE_COOLDOWN_SECONDS = 60;

  /** How long a router instance owns a queue without renewing its lease; another instance takes over after. */
  @Type(() => Number)
  @IsInt({ message: 'QUEUE_LEASE_SECONDS must be an integer' })
  @Min(1)
  @Max(300)
  QUEUE_LEASE_SECONDS = 5;

  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'ROUTER_INSTANCE_ID must be letters, digits, "-" or "_"' })
  ROUTER_INSTANCE_ID?: string = undefined;

  @Type(() => Number)
  @IsInt({ message: 'ROUTING_TICK_MS must be an integer' })
  @Min(50)
  ROUTING_TICK_MS = 250;

  /** Seconds of silence in an intake or an assigned chat before the customer (or the agent) is asked. */
  @Type(() => Number)
  @IsInt({ message: 'SESSION_IDLE_WARN_SECONDS must be an integer' })
  @Min(1)
  SESSION_IDLE_WARN_SECONDS = 600;

  /** Seconds of silence after which the session ends (reason `idle`); an entry point may set its own. */
  @Type(() => Number)
  @IsInt({ message: 'SESSION_IDLE_END_SECONDS must be an integer' })
  @Min(1)
  SESSION_IDLE_END_SECONDS = 900;
}

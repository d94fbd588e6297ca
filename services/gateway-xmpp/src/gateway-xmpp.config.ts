import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { ServiceConfig } from '@parley/service-kit';

export class GatewayXmppConfig extends ServiceConfig {
  /** The XMPP server's component port (XEP-0114). */
  @Matches(/^xmpp:\/\/[^\s/]+:\d+$/, { message: 'XMPP_COMPONENT_SERVICE must look like xmpp://127.0.0.1:5347' })
  XMPP_COMPONENT_SERVICE = 'xmpp://127.0.0.1:5347';

  /** The component's domain: published addresses and session addresses live on it. */
  @Matches(/^[a-z0-9.-]+$/i, { message: 'XMPP_COMPONENT_DOMAIN must be a domain name' })
  XMPP_COMPONENT_DOMAIN = 'parley.localhost';

  @IsString()
  @MinLength(1, { message: 'XMPP_COMPONENT_SECRET must be set' })
  XMPP_COMPONENT_SECRET = '';

  /** Agents who use their own XMPP client (YAML or JSON list); none when absent. */
  @IsOptional()
  @IsString()
  XMPP_AGENTS_FILE?: string = undefined;

  /** How long to wait for a new customer's presence and client details before opening the session without them. */
  @Type(() => Number)
  @IsInt({ message: 'CLIENT_INFO_TIMEOUT_MS must be an integer' })
  @Min(0)
  @Max(30_000)
  CLIENT_INFO_TIMEOUT_MS = 3_000;

  @Type(() => Number)
  @IsInt({ message: 'AGENT_LEASE_SECONDS must be an integer' })
  @Min(5)
  AGENT_LEASE_SECONDS = 60;
}

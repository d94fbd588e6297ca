import { IsOptional, IsString, Matches, MinLength } from 'class-validator';
import { ServiceConfig } from '@parley/service-kit';

export class GatewayWebConfig extends ServiceConfig {
  /** Signs the session tokens of customers, agents and supervisors (HS256). */
  @IsString()
  @MinLength(32, { message: 'WEB_JWT_SECRET must be at least 32 characters' })
  WEB_JWT_SECRET = '';

  /** Agents and supervisors who sign in (YAML or JSON, passwords as scrypt hashes); nobody when absent. */
  @IsOptional()
  @IsString()
  WEB_USERS_FILE?: string = undefined;

  /** Web sites allowed to embed the chat widget (comma-separated origins); the gateway's own pages always are. */
  @IsOptional()
  @Matches(/^(https?:\/\/[^\s,/]+)(,https?:\/\/[^\s,/]+)*$/, { message: 'WEB_ALLOWED_ORIGINS must be comma-separated origins like https://www.acme.example' })
  WEB_ALLOWED_ORIGINS?: string = undefined;

  /** Visitors get an address of their own on this domain (their identity on the web channel). */
  @Matches(/^[a-z0-9.-]+$/i, { message: 'WEB_VISITOR_DOMAIN must be a domain name' })
  WEB_VISITOR_DOMAIN = 'visitors.parley.localhost';

  /** The published address the demo page's widget opens a chat with. */
  @Matches(/^[^\s@]+@[^\s@]+$/, { message: 'WEB_DEMO_ADDRESS must be an IM address' })
  WEB_DEMO_ADDRESS = 'support@parley.example.test';

  /**
   * Pre-chat forms per entry point: `address=field,field;address=field` with fields `name` and `email`, a `!`
   * after a field making it required (`support@acme.example=name!,email`). No form when an address is absent.
   */
  @IsOptional()
  @Matches(/^[^\s@=;]+@[^\s@=;]+=(name|email)!?(,(name|email)!?)*(;[^\s@=;]+@[^\s@=;]+=(name|email)!?(,(name|email)!?)*)*$/, {
    message: 'WEB_PRE_CHAT_FORMS must look like support@acme.example=name!,email',
  })
  WEB_PRE_CHAT_FORMS?: string = undefined;
}

export interface PreChatForm {
  fields: { name: 'name' | 'email'; required: boolean }[];
}

export function preChatForms(setting: string | undefined): Map<string, PreChatForm> {
  const forms = new Map<string, PreChatForm>();
  for (const part of (setting ?? '').split(';').filter(Boolean)) {
    const [address, list] = part.split('=');
    forms.set(address!, { fields: list!.split(',').map((f) => ({ name: f.replace('!', '') as 'name' | 'email', required: f.endsWith('!') })) });
  }
  return forms;
}

import { Type } from 'class-transformer';
import { IsArray, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, ValidateNested } from 'class-validator';
import { loadValidatedFile } from '@parley/center-config';
import { scryptSync, timingSafeEqual } from 'node:crypto';

export class WebAgentProfile {
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'agentId must be letters, digits, "-" or "_"' }) agentId!: string;
  @IsString() @MinLength(1) displayName!: string;
  @IsOptional() @IsIn(['human', 'bot']) kind: 'human' | 'bot' = 'human';
  @IsOptional() skills: Record<string, number> = {};
  @IsOptional() @IsArray() @IsString({ each: true }) languages: string[] = ['en'];
  @IsOptional() @IsInt() @Min(1) @Max(100) capacity?: number;
  @IsOptional() @IsArray() @IsString({ each: true }) capabilities: string[] = ['text', 'typing'];
  @IsOptional() @IsArray() @IsString({ each: true }) queues?: string[];
  @IsOptional() @IsInt() @Min(0) wrapUpSeconds?: number;
}

export class WebUser {
  @Matches(/^[a-z0-9._-]{1,64}$/, { message: 'username must be lowercase letters, digits, ".", "-" or "_"' }) username!: string;
  /** `scrypt$<salt base64>$<hash base64>`, made by `node scripts/hash-password.mjs`. */
  @Matches(/^scrypt\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, { message: 'passwordHash must be scrypt$salt$hash (node scripts/hash-password.mjs)' }) passwordHash!: string;
  @IsIn(['agent', 'supervisor']) role!: 'agent' | 'supervisor';
  @IsOptional() @ValidateNested() @Type(() => WebAgentProfile) agent?: WebAgentProfile;
  /** Supervisors' extra rights on live conversations: `whisper` to the agent, `take-over` from the agent. */
  @IsOptional() @IsArray() @IsIn(['whisper', 'take-over'], { each: true }) permissions?: ('whisper' | 'take-over')[];
  /** The name shown to customers when a supervisor takes a conversation over (the user name when absent). */
  @IsOptional() @IsString() @MinLength(1) displayName?: string;
}

export class WebUsersFile {
  @IsArray() @ValidateNested({ each: true }) @Type(() => WebUser) users: WebUser[] = [];
}

export function hashPassword(password: string, salt: Buffer): string {
  return `scrypt$${salt.toString('base64')}$${scryptSync(password, salt, 32).toString('base64')}`;
}

/** Agents and supervisors who sign in to the desktop and the dashboard. */
export class WebUsers {
  private readonly byName = new Map<string, WebUser>();

  constructor(users: WebUser[]) {
    for (const u of users) this.byName.set(u.username, u);
  }

  static load(file: string | undefined): WebUsers {
    return new WebUsers(
      file
        ? loadValidatedFile(file, WebUsersFile, (f) => f.users.flatMap((u, i) => (u.role === 'agent' && !u.agent ? [{ path: ['users', i, 'agent'], message: 'an agent needs an agent profile' }] : [])))
            .users
        : [],
    );
  }

  get(username: string): WebUser | undefined {
    return this.byName.get(username);
  }

  /** Every agent with a desk login: the transfer picker names colleagues by their display names. */
  agents(): WebAgentProfile[] {
    return [...this.byName.values()].flatMap((u) => (u.agent ? [u.agent] : []));
  }

  profileOf(username: string): WebAgentProfile | undefined {
    return this.byName.get(username)?.agent;
  }

  /** The user if the password matches; the same work is done for unknown names, so timing tells nothing. */
  verify(username: string, password: string): WebUser | undefined {
    const user = this.byName.get(username);
    const [, saltText, hashText] = (user?.passwordHash ?? 'scrypt$AAAAAAAAAAAAAAAAAAAAAA==$AAAA').split('$');
    const expected = Buffer.from(hashText!, 'base64');
    const actual = scryptSync(password, Buffer.from(saltText!, 'base64'), 32);
    return user && expected.length === actual.length && timingSafeEqual(expected, actual) ? user : undefined;
  }
}

import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, ValidateNested } from 'class-validator';
import { loadValidatedFile } from '@parley/center-config';

const ID = /^[A-Za-z0-9_-]{1,64}$/;

export class RosterAgent {
  @Matches(/^[^\s@/]+@[^\s@/]+$/, { message: 'jid must be a bare JID like ada@example.org' }) jid!: string;
  @Matches(ID, { message: 'agentId must be letters, digits, "-" or "_"' }) agentId!: string;
  @IsString() @MinLength(1) displayName!: string;
  @IsOptional() @IsIn(['human', 'bot']) kind: 'human' | 'bot' = 'human';
  @IsOptional() skills: Record<string, number> = {};
  @IsOptional() @IsArray() @IsString({ each: true }) languages: string[] = ['en'];
  @IsOptional() @IsInt() @Min(1) @Max(100) capacity?: number;
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) capabilities: string[] = ['text'];
  @IsOptional() @IsArray() @Matches(ID, { each: true, message: 'queues must list queue IDs' }) queues?: string[];
  @IsOptional() @IsInt() @Min(0) wrapUpSeconds?: number;
}

export class AgentRosterFile {
  @IsArray() @ValidateNested({ each: true }) @Type(() => RosterAgent) agents: RosterAgent[] = [];
}

/** The agents who work from their own XMPP client, by bare JID. */
export class AgentRoster {
  private readonly byJid = new Map<string, RosterAgent>();
  private readonly byId = new Map<string, RosterAgent>();

  constructor(agents: RosterAgent[]) {
    for (const a of agents) {
      this.byJid.set(a.jid.toLowerCase(), a);
      this.byId.set(a.agentId, a);
    }
  }

  static load(file: string | undefined): AgentRoster {
    return new AgentRoster(file ? loadValidatedFile(file, AgentRosterFile).agents : []);
  }

  byBareJid(jid: string): RosterAgent | undefined {
    return this.byJid.get(jid.toLowerCase());
  }

  byAgentId(agentId: string): RosterAgent | undefined {
    return this.byId.get(agentId);
  }
}

import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
  IsNotEmpty,
  ValidateBy,
  ValidateIf,
  type ValidationOptions,
} from 'class-validator';

/**
 * An optional field may be absent; when present it must be valid (`null` is not absent: the contract's types
 * have no null, unlike class-validator's IsOptional).
 */
const Optional = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

/** Ids become NATS subject tokens and stream names: letters, digits, `-` and `_` only. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const ID_MESSAGE = 'must be 1-64 characters of letters, digits, "-" or "_"';
/** An IM address: `local@domain` (XMPP bare JID, e-mail-like web ids); no whitespace. */
const ADDRESS = /^[^\s@]{1,256}@[^\s@]{1,256}$/;

/**
 * Keys that name a property every JavaScript object already has (`constructor`, `__proto__`, `toString`, …) or
 * `prototype`: object mappers treat them as code paths, so no request may use them as keys, skill names included.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** What becomes a `Nats-Msg-Id` header or a dotted ID (status reports): no whitespace or control characters. */
const HEADER_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

function IsSkillMap(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isSkillMap',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.entries(value).every(([k, v]) => ID.test(k) && !RESERVED_KEYS.has(k) && Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 5),
        defaultMessage: () => '$property must map skill names to levels 1..5',
      },
    },
    options,
  );
}

export class RegisterEntryPointRequest {
  @Matches(ID, { message: `entryPointId ${ID_MESSAGE}` }) entryPointId!: string;
  @Matches(ADDRESS, { message: 'address must be an IM address like support@acme.example' }) address!: string;
  @Optional() @IsString() @MaxLength(200) displayName?: string;
  @Matches(ID, { message: `queueId ${ID_MESSAGE}` }) queueId!: string;
  @IsInt() @Min(1) @Max(86_400) leaseSeconds!: number;
  @Optional() @Matches(ID, { message: `flowId ${ID_MESSAGE}` }) flowId?: string;
}

export class EntryPointRequest {
  @Matches(ID, { message: `entryPointId ${ID_MESSAGE}` }) entryPointId!: string;
}

export class LookupRequest {
  @Matches(ADDRESS, { message: 'address must be an IM address' }) address!: string;
}

export class ClientInfo {
  @IsString() @MaxLength(100) name!: string;
  @IsString() @MaxLength(50) version!: string;
  @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(200, { each: true }) capabilities!: string[];
}

export class SubscribeRequest {
  @Matches(ID, { message: `channel ${ID_MESSAGE}` }) channel!: string;
  @Matches(ADDRESS, { message: 'from must be an IM address' }) from!: string;
  @Matches(ADDRESS, { message: 'to must be an IM address' }) to!: string;
  @Optional() @IsObject() @ValidateNested() @Type(() => ClientInfo) client?: ClientInfo;
  @Optional() @IsString() @MaxLength(35) locale?: string;
  /** Added in v1: the customer's ID when the channel knows one (a signed-in web user, a CRM contact). */
  @Optional() @IsString() @MaxLength(200) customerId?: string;
}

export class CustomerMessageRequest {
  @IsString() @MinLength(1) @MaxLength(128) messageId!: string;
  @Matches(ID, { message: `channel ${ID_MESSAGE}` }) channel!: string;
  @Matches(ADDRESS, { message: 'from must be an IM address' }) from!: string;
  @Matches(ADDRESS, { message: 'to must be a session address' }) to!: string;
  @IsString() @IsNotEmpty() @MaxLength(16_000) body!: string;
}

export class UnsubscribeRequest {
  @Matches(ID, { message: `channel ${ID_MESSAGE}` }) channel!: string;
  @Matches(ADDRESS, { message: 'from must be an IM address' }) from!: string;
  @Matches(ADDRESS, { message: 'to must be a session address' }) to!: string;
}

/** Added in v1: which session a customer has open at a published address (a gateway's logout, unsubscribe). */
export class SessionLookupRequest {
  @Matches(ID, { message: `channel ${ID_MESSAGE}` }) channel!: string;
  @Matches(ADDRESS, { message: 'from must be an IM address' }) from!: string;
  @Matches(ADDRESS, { message: 'to must be a published address' }) to!: string;
}

export class AgentLoginRequest {
  @Matches(ID, { message: `agentId ${ID_MESSAGE}` }) agentId!: string;
  @IsString() @MinLength(1) @MaxLength(100) displayName!: string;
  @IsIn(['human', 'bot']) kind!: 'human' | 'bot';
  @IsObject() @IsSkillMap() skills!: Record<string, number>;
  @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) languages!: string[];
  /** Concurrent conversations; the deployment's default (DEFAULT_AGENT_CAPACITY) when absent. */
  @Optional() @IsInt() @Min(1) @Max(100) capacity?: number;
  /** Added in v1: seconds of wrap-up after each conversation; the deployment's default when absent. */
  @Optional() @IsInt() @Min(0) @Max(3_600) wrapUpSeconds?: number;
  @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) capabilities!: string[];
  /** Added in v1: the queues this agent serves; absent means every queue. */
  @Optional() @IsArray() @ArrayMaxSize(200) @Matches(ID, { each: true, message: `queues ${ID_MESSAGE}` }) queues?: string[];
  @Optional() @IsInt() @Min(1) @Max(86_400) leaseSeconds?: number;
}

export class AgentRequest {
  @Matches(ID, { message: `agentId ${ID_MESSAGE}` }) agentId!: string;
}

export class AgentStateRequest {
  @Matches(ID, { message: `agentId ${ID_MESSAGE}` }) agentId!: string;
  @IsIn(['available', 'away', 'offline']) state!: 'available' | 'away' | 'offline';
  @Optional() @IsString() @MaxLength(100) reason?: string;
}

export class OfferAcceptRequest {
  @Matches(ID, { message: `agentId ${ID_MESSAGE}` }) agentId!: string;
  @Matches(ID, { message: `offerId ${ID_MESSAGE}` }) offerId!: string;
}

export class OfferRejectRequest {
  @Matches(ID, { message: `agentId ${ID_MESSAGE}` }) agentId!: string;
  @Matches(ID, { message: `offerId ${ID_MESSAGE}` }) offerId!: string;
  @Optional() @IsString() @MaxLength(200) reason?: string;
}

export class AgentMessageRequest {
  @Matches(ID, { message: `agentId ${ID_MESSAGE}` }) agentId!: string;
  @Matches(ID, { message: `sessionId ${ID_MESSAGE}` }) sessionId!: string;
  @IsString() @MinLength(1) @MaxLength(128) messageId!: string;
  @IsString() @IsNotEmpty() @MaxLength(16_000) body!: string;
}

export class AgentSessionEndRequest {
  @Matches(ID, { message: `agentId ${ID_MESSAGE}` }) agentId!: string;
  @Matches(ID, { message: `sessionId ${ID_MESSAGE}` }) sessionId!: string;
  @Optional() @IsString() @MaxLength(100) disposition?: string;
}

export class AgentTransferRequest {
  @Matches(ID, { message: `agentId ${ID_MESSAGE}` }) agentId!: string;
  @Matches(ID, { message: `sessionId ${ID_MESSAGE}` }) sessionId!: string;
  /** To a queue, or (with toAgentId) to one agent; exactly one of the two. */
  @Optional() @Matches(ID, { message: `toQueueId ${ID_MESSAGE}` }) toQueueId?: string;
  @Optional() @Matches(ID, { message: `toAgentId ${ID_MESSAGE}` }) toAgentId?: string;
  @Optional() @IsString() @MaxLength(200) reason?: string;
}

export class SessionExplainRequest {
  @Matches(ID, { message: `sessionId ${ID_MESSAGE}` }) sessionId!: string;
}

export class StatusReportRequest {
  @Matches(ID, { message: `sessionId ${ID_MESSAGE}` }) sessionId!: string;
  /** Becomes the delivery's `Nats-Msg-Id` header, so it is validated as one. */
  @Matches(HEADER_ID, { message: 'statusId must be 1-128 characters of letters, digits, ".", ":", "-" or "_"' }) statusId!: string;
  @IsInt() @Min(0) position!: number;
  @IsInt() @Min(0) estimatedWaitSeconds!: number;
  /** Added in v1: why the position went up; positions never rise otherwise. */
  @Optional() @IsIn(['priority']) reason?: 'priority';
  /** Added in v1: the range the wait most likely falls in (the customer is told a range, not a false precision). */
  @Optional() @IsInt() @Min(0) lowSeconds?: number;
  @Optional() @IsInt() @Min(0) highSeconds?: number;
}

export class EmptyRequest {}

/** Added in v1: the customer rates their conversation; identified like an unsubscribe (channel, own address, session address). */
export class SessionRateRequest {
  @Matches(ID, { message: `channel ${ID_MESSAGE}` }) channel!: string;
  @Matches(ADDRESS, { message: 'from must be an IM address' }) from!: string;
  @Matches(ADDRESS, { message: 'to must be a session address' }) to!: string;
  @IsString() @MinLength(1) @MaxLength(128) ratingId!: string;
  @IsInt() @Min(1) @Max(5) score!: number;
  @Optional() @IsString() @MaxLength(2_000) comment?: string;
}

export class AgentNoteRequest {
  @Matches(ID, { message: `agentId ${ID_MESSAGE}` }) agentId!: string;
  @Matches(ID, { message: `sessionId ${ID_MESSAGE}` }) sessionId!: string;
  @IsString() @MinLength(1) @MaxLength(128) noteId!: string;
  @IsString() @IsNotEmpty() @MaxLength(4_000) body!: string;
}

/** A supervisor acts by user name; the gateway that signs supervisors in checks they may. */
export class SupervisorWhisperRequest {
  @IsString() @MinLength(1) @MaxLength(64) supervisor!: string;
  @Matches(ID, { message: `sessionId ${ID_MESSAGE}` }) sessionId!: string;
  @IsString() @MinLength(1) @MaxLength(128) whisperId!: string;
  @IsString() @IsNotEmpty() @MaxLength(4_000) body!: string;
}

export class SupervisorTakeOverRequest {
  @IsString() @MinLength(1) @MaxLength(64) supervisor!: string;
  @IsString() @MinLength(1) @MaxLength(100) displayName!: string;
  @Matches(ID, { message: `sessionId ${ID_MESSAGE}` }) sessionId!: string;
}

export class SupervisorMessageRequest {
  @IsString() @MinLength(1) @MaxLength(64) supervisor!: string;
  @IsString() @MinLength(1) @MaxLength(100) displayName!: string;
  @Matches(ID, { message: `sessionId ${ID_MESSAGE}` }) sessionId!: string;
  @IsString() @MinLength(1) @MaxLength(128) messageId!: string;
  @IsString() @IsNotEmpty() @MaxLength(16_000) body!: string;
}

/** `owner` is `shared` or the agent ID whose personal response it is. */
export class CannedSaveRequest {
  @Matches(ID, { message: `owner ${ID_MESSAGE}` }) owner!: string;
  @Matches(ID, { message: `cannedId ${ID_MESSAGE}` }) cannedId!: string;
  @Matches(/^[a-z0-9_-]{1,32}$/, { message: 'shortcut must be 1-32 lowercase letters, digits, "-" or "_"' }) shortcut!: string;
  @IsString() @MinLength(1) @MaxLength(100) title!: string;
  @IsString() @IsNotEmpty() @MaxLength(4_000) body!: string;
  @IsString() @MinLength(1) @MaxLength(64) by!: string;
}

export class CannedRemoveRequest {
  @Matches(ID, { message: `owner ${ID_MESSAGE}` }) owner!: string;
  @Matches(ID, { message: `cannedId ${ID_MESSAGE}` }) cannedId!: string;
  @IsString() @MinLength(1) @MaxLength(64) by!: string;
}

export class CannedListRequest {
  @Optional() @Matches(ID, { message: `agentId ${ID_MESSAGE}` }) agentId?: string;
}

/** What a channel gateway knows about an agent it signs in on their behalf (a roster entry, a desktop user). */
export interface AgentProfileSource {
  agentId: string;
  displayName: string;
  kind: 'human' | 'bot';
  skills: Record<string, number>;
  languages: string[];
  capabilities: string[];
  capacity?: number;
  queues?: string[];
  wrapUpSeconds?: number;
}

/** The `parley.v1.agent.login` payload for such an agent; unset optional fields are left to the deployment's defaults. */
export function agentLoginPayload(a: AgentProfileSource, leaseSeconds: number): AgentLoginRequest {
  return {
    agentId: a.agentId,
    displayName: a.displayName,
    kind: a.kind,
    skills: a.skills,
    languages: a.languages,
    capabilities: a.capabilities,
    leaseSeconds,
    ...(a.capacity ? { capacity: a.capacity } : {}),
    ...(a.queues ? { queues: a.queues } : {}),
    ...(a.wrapUpSeconds !== undefined ? { wrapUpSeconds: a.wrapUpSeconds } : {}),
  };
}

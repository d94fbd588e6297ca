import 'reflect-metadata';
import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, Min, MinLength, ValidateBy, ValidateNested, type ValidationOptions } from 'class-validator';
import { STRATEGIES, type Strategy, WEEKDAYS, parseInterval } from '@parley/domain';

const ID = /^[A-Za-z0-9_-]{1,64}$/;

const isTextMap = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0 && Object.values(v).every((t) => typeof t === 'string' && t.length > 0);

export function IsLocalizedText(options?: ValidationOptions) {
  return ValidateBy({ name: 'isLocalizedText', validator: { validate: isTextMap, defaultMessage: () => '$property must map locales to non-empty texts, e.g. { en: "Hello" }' } }, options);
}

function IsSkillLevels(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isSkillLevels',
      validator: {
        validate: (v: unknown) =>
          typeof v === 'object' && v !== null && !Array.isArray(v) && Object.entries(v).every(([k, l]) => ID.test(k) && Number.isInteger(l) && (l as number) >= 1 && (l as number) <= 5),
        defaultMessage: () => '$property must map skill names to levels 1..5',
      },
    },
    options,
  );
}

function IsRegExp(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isRegExp',
      validator: {
        validate: (v: unknown) => {
          try {
            return typeof v === 'string' && new RegExp(v) instanceof RegExp;
          } catch {
            return false;
          }
        },
        defaultMessage: () => '$property must be a valid regular expression',
      },
    },
    options,
  );
}

function IsTimeZone(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isTimeZone',
      validator: {
        validate: (v: unknown) => {
          try {
            return typeof v === 'string' && new Intl.DateTimeFormat('en-US', { timeZone: v }).resolvedOptions().timeZone.length > 0;
          } catch {
            return false;
          }
        },
        defaultMessage: () => '$property must be an IANA time zone such as Europe/Berlin',
      },
    },
    options,
  );
}

function IsWeeklyHours(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isWeeklyHours',
      validator: {
        validate: (v: unknown) =>
          typeof v === 'object' &&
          v !== null &&
          !Array.isArray(v) &&
          Object.entries(v).every(
            ([day, intervals]) => (WEEKDAYS as readonly string[]).includes(day) && Array.isArray(intervals) && intervals.every((i) => typeof i === 'string' && parseInterval(i) !== null),
          ),
        defaultMessage: () => '$property must map mon..sun to lists of "HH:MM-HH:MM" intervals',
      },
    },
    options,
  );
}

export class RouteConfig {
  @IsOptional() @Matches(ID, { message: 'queue must be a queue ID' }) queue?: string;
  @IsOptional() @IsSkillLevels() skills?: Record<string, number>;
  @IsOptional() @IsString() language?: string;
  @IsOptional() @IsInt() @Min(0) @Max(10) priority?: number;
  @IsOptional() @IsArray() @IsString({ each: true }) capabilities?: string[];
}

export class MenuOptionConfig {
  @IsString() @MinLength(1) key!: string;
  @IsLocalizedText() label!: Record<string, string>;
  @IsOptional() @ValidateNested() @Type(() => RouteConfig) route?: RouteConfig;
  @IsOptional() @IsString() next?: string;
}

export class QuestionConfig {
  @Matches(ID, { message: 'id must be letters, digits, "-" or "_"' }) id!: string;
  @IsIn(['menu', 'text']) kind!: 'menu' | 'text';
  @IsLocalizedText() prompt!: Record<string, string>;
  @IsOptional() @IsArray() @ArrayMinSize(1) @ValidateNested({ each: true }) @Type(() => MenuOptionConfig) options?: MenuOptionConfig[];
  @IsOptional() @IsRegExp() pattern?: string;
  @IsOptional() @Matches(ID, { message: 'attribute must be letters, digits, "-" or "_"' }) attribute?: string;
  @IsOptional() @ValidateNested() @Type(() => RouteConfig) route?: RouteConfig;
  @IsOptional() @IsString() next?: string;
}

export class FlowConfig {
  @Matches(ID, { message: 'id must be letters, digits, "-" or "_"' }) id!: string;
  @IsOptional() @IsString() defaultLocale: string = 'en';
  @IsLocalizedText() greeting!: Record<string, string>;
  @IsOptional() @IsLocalizedText() retry: Record<string, string> = { en: "Sorry, I didn't understand that." };
  @IsOptional() @IsLocalizedText() done: Record<string, string> = { en: 'Thank you. An agent will be with you shortly.' };
  @IsOptional() @IsInt() @Min(1) @Max(10) maxAttempts: number = 2;
  @ValidateNested() @Type(() => RouteConfig) fallback!: RouteConfig;
  @IsString() start!: string;
  @IsArray() @ArrayMinSize(1) @ValidateNested({ each: true }) @Type(() => QuestionConfig) questions!: QuestionConfig[];
}

export class ClosureConfig {
  @IsISO8601() from!: string;
  @IsISO8601() to!: string;
}

export class HoursConfig {
  @Matches(ID, { message: 'id must be letters, digits, "-" or "_"' }) id!: string;
  @IsTimeZone() timeZone!: string;
  @IsWeeklyHours() weekly!: Record<string, string[]>;
  @IsOptional() @IsArray() @Matches(/^\d{4}-\d{2}-\d{2}$/, { each: true, message: 'holidays must be dates like 2026-12-25' }) holidays: string[] = [];
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => ClosureConfig) closures: ClosureConfig[] = [];
  @IsOptional() @IsLocalizedText() closedMessage: Record<string, string> = { en: 'We are closed right now.' };
  @IsOptional() @IsBoolean() leaveMessage: boolean = false;
}

/** A silent conversation is pointed out after `warnAfterSeconds` and ended after `endAfterSeconds` of silence. */
export class IdleTimeoutConfig {
  @IsInt() @Min(1) warnAfterSeconds!: number;
  @IsInt() @Min(1) endAfterSeconds!: number;
}

export class EntryPointConfig {
  @Matches(ID, { message: 'id must be an entry point ID' }) id!: string;
  @IsOptional() @IsString() hours?: string;
  @IsOptional() @IsString() flow?: string;
  @IsOptional() @ValidateNested() @Type(() => IdleTimeoutConfig) idleTimeout?: IdleTimeoutConfig;
}

export class RuleStepConfig {
  @IsInt() @Min(0) afterSeconds!: number;
  @IsOptional() @IsInt() @Min(1) @Max(5) minProficiency?: number;
  @IsOptional() @IsBoolean() ignoreSkills?: boolean;
  @IsOptional() @IsIn(['bot', 'human']) agentKind?: 'bot' | 'human';
  @IsOptional() @IsArray() @Matches(ID, { each: true, message: 'overflowTo must list queue IDs' }) overflowTo?: string[];
}

export class QueueConfig {
  @Matches(ID, { message: 'id must be a queue ID' }) id!: string;
  @IsOptional() @IsIn([...STRATEGIES], { message: `strategy must be one of ${STRATEGIES.join(', ')}` }) strategy: Strategy = 'longest-idle';
  /** Ordered by afterSeconds: the step in force is the last one a session's wait has reached. */
  @IsOptional() @IsArray() @ArrayMinSize(1) @ValidateNested({ each: true }) @Type(() => RuleStepConfig) steps: RuleStepConfig[] = [Object.assign(new RuleStepConfig(), { afterSeconds: 0 })];
  @IsOptional() @IsInt() @Min(0) maxWaiting?: number;
  @IsOptional() @IsInt() @Min(0) maxEstimatedWaitSeconds?: number;
  @IsOptional() @IsLocalizedText() overloadedMessage: Record<string, string> = { en: 'We are very busy right now. Please try again later.' };
}

export class CapabilityRuleConfig {
  @IsOptional() @IsString() whenClientHas?: string;
  @IsOptional() @IsString() whenClientLacks?: string;
  @IsString() @MinLength(1) requireAgentCapability!: string;
}

export class CenterConfig {
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => FlowConfig) flows: FlowConfig[] = [];
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => HoursConfig) hours: HoursConfig[] = [];
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => EntryPointConfig) entryPoints: EntryPointConfig[] = [];
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => QueueConfig) queues: QueueConfig[] = [];
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => CapabilityRuleConfig) capabilityRules: CapabilityRuleConfig[] = [];
}

import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateBy, ValidateIf, validateSync, type ValidationError, type ValidationOptions } from 'class-validator';
import { fromSeed } from '@nats-io/nkeys';
import { readFileSync } from 'node:fs';
import type { StreamDurability } from '@parley/event-store';

const readable = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** A file the service can read now; its content is never part of the message. */
function IsReadableFile(options?: ValidationOptions) {
  return ValidateBy(
    { name: 'isReadableFile', validator: { validate: (v: unknown) => typeof v === 'string' && readable(v) !== undefined, defaultMessage: (a) => `${a?.property} must name a readable file` } },
    options,
  );
}

/** A file holding an nkey user seed (`SU…`); checked by decoding it, never echoed. */
function IsNkeySeedFile(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isNkeySeedFile',
      validator: {
        validate: (v: unknown) => {
          const text = typeof v === 'string' ? readable(v)?.trim() : undefined;
          if (!text?.startsWith('SU')) return false;
          try {
            fromSeed(new TextEncoder().encode(text));
            return true;
          } catch {
            return false;
          }
        },
        defaultMessage: () => 'NATS_NKEY_SEED_FILE must name a readable file holding an nkey user seed (SU...)',
      },
    },
    options,
  );
}

/** Settings every Parley service reads from its environment. Services extend this class with their own. */
export class ServiceConfig {
  @Matches(/^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, { message: 'NATS_URL must be one or more comma-separated nats:// URLs' })
  NATS_URL = 'nats://127.0.0.1:4222';

  @IsString()
  @Matches(/^[0-9.:a-fA-F]+$|^localhost$/, { message: 'HTTP_HOST must be an IP address or localhost' })
  HTTP_HOST = '127.0.0.1';

  @Type(() => Number)
  @IsInt({ message: 'HTTP_PORT must be an integer' })
  @Min(0)
  @Max(65_535)
  HTTP_PORT = 0;

  /** `development` (what `npm start` sets) relaxes what only production must hear about, e.g. an old nats-server. */
  @IsIn(['production', 'development'], { message: 'PARLEY_ENVIRONMENT must be production or development' })
  PARLEY_ENVIRONMENT: 'production' | 'development' = 'production';

  @IsIn(['debug', 'info', 'warn', 'error', 'silent'], { message: 'LOG_LEVEL must be one of debug, info, warn, error, silent' })
  LOG_LEVEL: 'debug' | 'info' | 'warn' | 'error' | 'silent' = 'info';

  @Type(() => Number)
  @IsInt({ message: 'SHUTDOWN_TIMEOUT_MS must be an integer' })
  @Min(0)
  SHUTDOWN_TIMEOUT_MS = 10_000;

  /** The contact-center file (flows, hours, queue limits); read by the services that need it. */
  @IsOptional()
  @IsString()
  PARLEY_CENTER_FILE?: string = undefined;

  @Type(() => Number)
  @IsInt({ message: 'CONSUMER_ACK_WAIT_MS must be an integer' })
  @Min(100)
  CONSUMER_ACK_WAIT_MS = 5_000;

  /**
   * The service's NATS identity: a file with its nkey seed (mounted secret, mode 0600). Without it the service
   * connects unauthenticated, which Parley's nats-server configuration refuses.
   */
  @IsOptional()
  @IsNkeySeedFile()
  NATS_NKEY_SEED_FILE?: string = undefined;

  /** TLS to NATS: the CA that signed the server's certificate (turns TLS on). */
  @IsOptional()
  @IsReadableFile()
  NATS_TLS_CA_FILE?: string = undefined;

  /** The service's own certificate and key, for a server that verifies clients; both or neither. */
  @ValidateIf((c: ServiceConfig) => c.NATS_TLS_CERT_FILE !== undefined || c.NATS_TLS_KEY_FILE !== undefined)
  @IsReadableFile({ message: 'NATS_TLS_CERT_FILE must name a readable file (with NATS_TLS_KEY_FILE)' })
  NATS_TLS_CERT_FILE?: string = undefined;

  @ValidateIf((c: ServiceConfig) => c.NATS_TLS_CERT_FILE !== undefined || c.NATS_TLS_KEY_FILE !== undefined)
  @IsReadableFile({ message: 'NATS_TLS_KEY_FILE must name a readable file (with NATS_TLS_CERT_FILE)' })
  NATS_TLS_KEY_FILE?: string = undefined;

  /** NATS user of this service (its permissions are in the server's authorization block); none when absent. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'NATS_USER must be letters, digits, ".", "-" or "_"' })
  NATS_USER?: string = undefined;

  /** NATS_USER's password (from a Secret). Prefer NATS_NKEY_SEED_FILE: with nkeys the server holds no secret. */
  @IsOptional()
  @IsString()
  NATS_PASSWORD?: string = undefined;

  /** JetStream replicas of Parley's streams and KV buckets when created; an existing one with others stops the service. */
  @Type(() => Number)
  @IsIn([1, 3, 5], { message: 'PARLEY_STREAM_REPLICAS must be 1, 3 or 5' })
  PARLEY_STREAM_REPLICAS = 1;

  /** Storage of Parley's streams and KV buckets; an existing one stored otherwise stops the service. */
  @IsIn(['file', 'memory'], { message: 'PARLEY_STREAM_STORAGE must be file or memory' })
  PARLEY_STREAM_STORAGE: 'file' | 'memory' = 'file';
  /** Events a durable consumer has in hand at once (events of one session or agent still go one at a time). */
  @Type(() => Number)
  @IsInt({ message: 'CONSUMER_MAX_IN_FLIGHT must be an integer' })
  @Min(1)
  @Max(10_000)
  CONSUMER_MAX_IN_FLIGHT = 256;

  /** Attempts at an event before it is parked on PARLEY_PARKED (with a metric and a log line). */
  @Type(() => Number)
  @IsInt({ message: 'CONSUMER_MAX_ATTEMPTS must be an integer' })
  @Min(1)
  @Max(1_000)
  CONSUMER_MAX_ATTEMPTS = 8;

  /** Partitions of each durable consumer, leased by the running instances of the service (1: one instance works, others stand by). */
  @Type(() => Number)
  @IsInt({ message: 'CONSUMER_PARTITIONS must be an integer' })
  @Min(1)
  @Max(64)
  CONSUMER_PARTITIONS = 1;

  /** A consumer partition's lease: another instance takes it over this long after its holder stops renewing. */
  @Type(() => Number)
  @IsInt({ message: 'CONSUMER_LEASE_SECONDS must be an integer' })
  @Min(1)
  @Max(300)
  CONSUMER_LEASE_SECONDS = 5;

  /** Aggregate states kept in memory by the command handler and by each consumer. */
  @Type(() => Number)
  @IsInt({ message: 'STATE_CACHE_SIZE must be an integer' })
  @Min(100)
  STATE_CACHE_SIZE = 20_000;

  /** How often projections checkpoint their state and position. */
  @Type(() => Number)
  @IsInt({ message: 'CHECKPOINT_INTERVAL_MS must be an integer' })
  @Min(100)
  CHECKPOINT_INTERVAL_MS = 5_000;

  /** Not ready while a consumer has more than this many events waiting (it is falling behind). */
  @Type(() => Number)
  @IsInt({ message: 'READY_MAX_LAG_EVENTS must be an integer' })
  @Min(1)
  READY_MAX_LAG_EVENTS = 10_000;

  /**
   * OpenTelemetry: where traces go over OTLP/HTTP (a collector, e.g. http://otel-collector:4318; spans are posted
   * to `<endpoint>/v1/traces`). Unset: tracing is off and costs next to nothing.
   */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s,]+$/, { message: 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL' })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string = undefined;

  /** OTLP encoding; grpc is not supported (OTLP/HTTP reaches the same collectors without another stack). */
  @IsIn(['http/protobuf', 'http/json'], { message: 'OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json' })
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' | 'http/json' = 'http/protobuf';

  /** The service's name in traces; `parley-<service>` when unset. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.\/-]{1,100}$/, { message: 'OTEL_SERVICE_NAME must be 1-100 letters, digits, ".", "-", "_" or "/"' })
  OTEL_SERVICE_NAME?: string = undefined;

  /** Read by the OpenTelemetry SDK itself (here only checked): which traces are kept. */
  @IsOptional()
  @IsIn(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'], {
    message: 'OTEL_TRACES_SAMPLER must be always_on, always_off, traceidratio or parentbased_(always_on|always_off|traceidratio)',
  })
  OTEL_TRACES_SAMPLER?: string = undefined;

  /** The ratio of a traceidratio sampler, 0 to 1 (read by the SDK). */
  @IsOptional()
  @Type(() => Number)
  @Min(0, { message: 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1' })
  @Max(1, { message: 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1' })
  OTEL_TRACES_SAMPLER_ARG?: number = undefined;
}

/** The replicas and storage the deployment asks of every stream and KV bucket. */
export const streamDurability = (config: Pick<ServiceConfig, 'PARLEY_STREAM_REPLICAS' | 'PARLEY_STREAM_STORAGE'>): StreamDurability => ({
  replicas: config.PARLEY_STREAM_REPLICAS,
  storage: config.PARLEY_STREAM_STORAGE,
});

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** URLs with their user information (`nats://user:password@host`) masked, for logs and error messages. */
export const redactUrls = (value: unknown): unknown => (typeof value === 'string' ? value.replace(/(\w+:\/\/)[^@\s/,]*@/g, '$1***@') : value);

/**
 * Each problem names the variable and the value as it was written in the environment, before conversion; never a
 * secret: credentials live in files whose content is not repeated, and URLs lose their user information.
 */
const describe = (errors: ValidationError[], raw: Record<string, unknown>): string[] =>
  errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => `${e.property}=${/PASSWORD|SECRET/.test(e.property) ? '"***"' : JSON.stringify(redactUrls(raw[e.property]))}: ${m}`));

/** Reads and validates the environment; only variables the class declares are taken. */
export function loadConfig<T extends object>(cls: new () => T, env: NodeJS.ProcessEnv = process.env): T {
  const defaults = new cls() as Record<string, unknown>;
  const raw: Record<string, unknown> = { ...defaults };
  for (const key of Object.keys(defaults)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const config = plainToInstance(cls, raw);
  const problems = describe(validateSync(config, { forbidUnknownValues: false }), raw);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

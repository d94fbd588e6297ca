import { parseArgs } from 'node:util';
import { UsageError } from './cli-errors.js';

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

export const CONNECTION_OPTIONS = {
  'nats-url': { type: 'string' },
  creds: { type: 'string' },
  stream: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Record<string, OptionSpec>;

export const CONNECTION_HELP = `Connection (read-only; the tool never writes to Parley):
  --nats-url URL      NATS server (default: $NATS_URL, else nats://127.0.0.1:4222)
  --creds FILE        NATS credentials file (default: $NATS_CREDS); $NATS_USER/$NATS_PASSWORD or $NATS_TOKEN also work
  --stream NAME       event stream (default PARLEY_EVENTS)
  --quiet             no progress on stderr
  -h, --help          this help`;

/** Parses a command's flags strictly: an unknown flag or a missing value is a UsageError (exit 2). */
export function parseFlags<T extends Record<string, OptionSpec>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as {
      [K in keyof T]?: T[K] extends { type: 'boolean' } ? boolean : T[K] extends { multiple: true } ? string[] : string;
    };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds of a duration like `15m`, `1h`, `30s`, `2d`. */
export function parseDuration(flag: string, value: string): number {
  const m = DURATION.exec(value.trim());
  if (!m) throw new UsageError(`--${flag} must be a duration like 30s, 15m, 1h or 2d (got "${value}")`);
  const seconds = Number(m[1]) * UNIT[m[2]!]!;
  if (seconds <= 0) throw new UsageError(`--${flag} must be longer than 0`);
  return seconds;
}

/** An instant: ISO 8601 (`2026-11-21T09:00:00Z`, `2026-11-21`) or a duration ago (`2h` = two hours ago). */
export function parseInstant(flag: string, value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const d = DURATION.exec(value.trim());
  if (d) return nowMs - Number(d[1]) * UNIT[d[2]!]! * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--${flag} must be an ISO 8601 instant (2026-11-21T09:00:00Z) or a duration ago (2h) (got "${value}")`);
  return t;
}

export function parseNumber(flag: string, value: string | undefined, fallback: number, { min = 0, integer = false } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new UsageError(`--${flag} must be ${integer ? 'an integer' : 'a number'} ≥ ${min} (got "${value}")`);
  return n;
}

export function parseChoice<T extends string>(flag: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')} (got "${value}")`);
  return value as T;
}

export function checkRange(sinceMs: number | null, untilMs: number | null) {
  if (sinceMs !== null && untilMs !== null && untilMs <= sinceMs) throw new UsageError('--until must be later than --since');
}

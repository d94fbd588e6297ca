import { EventFilter } from '@parley/analytics';
import { CliError } from './cli-errors.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, checkRange, parseFlags, parseInstant, parseNumber } from './cli-options.js';
import { readEvents } from './event-source.js';
import { connectNats } from './nats-reader.js';
import { BufferedFile } from './table-writer.js';

export const EVENTS_HELP = `parley events: the event log as NDJSON (one stored event per line, in store order)

Usage: parley events [--from-seq N | --since T] [--until T] [--aggregate A] [--type T]... [--queue Q] [--out FILE] [--follow]

  --from-seq N        start at this stream sequence (position)
  --since T           events at or after T (ISO 8601, or a duration ago: 2h, 30m)
  --until T           events before T
  --aggregate A       only session, agent or entrypoint events
  --type T            only events of this type (repeat, or comma-separate: --type SessionQueued,SessionEnded)
  --queue Q           session events of sessions queued in Q, agent events of agents serving Q
  --out FILE          write to FILE instead of stdout
  --follow            keep tailing new events (Ctrl-C stops)

Each line: {"position", "aggregate", "aggregateId", "id", "type", "schemaVersion", "data", "metadata"}.
${CONNECTION_HELP}`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  'from-seq': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  aggregate: { type: 'string' },
  type: { type: 'string', multiple: true },
  queue: { type: 'string' },
  out: { type: 'string' },
  follow: { type: 'boolean' },
} as const;

export async function eventsCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, OPTIONS);
  if (f.help) {
    process.stdout.write(`${EVENTS_HELP}\n`);
    return 0;
  }
  const now = Date.now();
  const fromSeq = f['from-seq'] === undefined ? null : parseNumber('from-seq', f['from-seq'], 1, { min: 1, integer: true });
  const sinceMs = parseInstant('since', f.since, now);
  const untilMs = parseInstant('until', f.until, now);
  checkRange(sinceMs, untilMs);
  const types = (f.type ?? [])
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  const filter = new EventFilter({ aggregate: f.aggregate ?? null, types, queue: f.queue ?? null, sinceMs, untilMs });

  const nc = await connectNats({ natsUrl: f['nats-url'], creds: f.creds });
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let out: BufferedFile | null = null;
  let written = 0;
  try {
    out = f.out ? new BufferedFile(f.out) : null;
    const write = (line: string) => {
      if (out) out.write(line);
      else process.stdout.write(line);
    };
    let pending: string[] = [];
    const flushStdout = () => {
      if (pending.length > 0) write(pending.join(''));
      pending = [];
    };
    await readEvents(nc, { stream: f.stream ?? 'PARLEY_EVENTS', fromSeq, sinceMs, untilMs, follow: f.follow, quiet: !!f.quiet, signal: controller.signal }, (e) => {
      for (const x of filter.accept(e)) {
        pending.push(`${JSON.stringify(x)}\n`);
        written++;
      }
      if (pending.length >= 512 || f.follow) flushStdout();
    });
    flushStdout();
  } catch (err) {
    if (err instanceof Error && 'code' in err && (err as { code?: string }).code === 'ENOENT') throw new CliError(`cannot write ${f.out}: ${err.message}`);
    throw err;
  } finally {
    out?.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await nc.close().catch(() => undefined);
  }
  if (written === 0 && !f.follow && (sinceMs !== null || untilMs !== null || fromSeq !== null)) {
    throw new CliError(
      `no events in the range asked for${sinceMs !== null ? ` since ${new Date(sinceMs).toISOString()}` : ''}${untilMs !== null ? ` until ${new Date(untilMs).toISOString()}` : ''}${fromSeq !== null ? ` from position ${fromSeq}` : ''}`,
    );
  }
  return 0;
}

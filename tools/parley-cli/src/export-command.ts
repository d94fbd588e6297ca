import { mkdirSync } from 'node:fs';
import { SCHEMAS, TABLE_NAMES, type TableName, TableBuilder, eventInstant } from '@parley/analytics';
import { CliError, UsageError } from './cli-errors.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, checkRange, parseChoice, parseFlags, parseInstant } from './cli-options.js';
import { readEvents, readWaitEstimates } from './event-source.js';
import { connectNats } from './nats-reader.js';
import { EXPORT_FORMATS, type TableWriter, openTableWriter } from './table-writer.js';

export const EXPORT_HELP = `parley export: analyst tables (not raw events), in one streaming pass over the event log

Usage: parley export --out DIR [--format parquet|csv|ndjson] [--tables sessions,offers,...] [--since T] [--until T] [--include-bodies]

  --out DIR           directory for the tables (created if missing): DIR/<table>.<format>
  --format F          parquet (default, through DuckDB), csv or ndjson
  --tables LIST       some of: ${TABLE_NAMES.join(', ')} (default: all)
  --since T           sessions opened, messages sent, offers made, intervals begun at or after T
  --until T           ... before T
  --include-bodies    put message bodies in the messages table (they are customers' words: off by default)
  --deliveries-stream NAME  where status deliveries are stored (default PARLEY_DELIVERIES), for wait_estimates

Tables: sessions (one row per session), offers (one per offer, with its decision record and outcome),
messages (id, session, author, instant, length), agent_states (one row per interval an agent spent available,
away, offline, in wrap-up or busy), wait_estimates (every position and estimate told, and the wait that followed).
${CONNECTION_HELP}`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  out: { type: 'string' },
  format: { type: 'string' },
  tables: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  'include-bodies': { type: 'boolean' },
  'deliveries-stream': { type: 'string' },
} as const;

const inRange = (instant: unknown, sinceMs: number | null, untilMs: number | null) => {
  if (typeof instant !== 'string') return sinceMs === null && untilMs === null;
  const t = Date.parse(instant);
  return (sinceMs === null || t >= sinceMs) && (untilMs === null || t < untilMs);
};

export async function exportCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, OPTIONS);
  if (f.help) {
    process.stdout.write(`${EXPORT_HELP}\n`);
    return 0;
  }
  if (!f.out) throw new UsageError('--out DIR is required');
  const format = parseChoice('format', f.format, EXPORT_FORMATS, 'parquet');
  const tables = (f.tables ? f.tables.split(',').map((t) => t.trim()) : [...TABLE_NAMES]) as TableName[];
  for (const t of tables) if (!TABLE_NAMES.includes(t)) throw new UsageError(`--tables: unknown table "${t}" (tables: ${TABLE_NAMES.join(', ')})`);
  const now = Date.now();
  const sinceMs = parseInstant('since', f.since, now);
  const untilMs = parseInstant('until', f.until, now);
  checkRange(sinceMs, untilMs);
  try {
    mkdirSync(f.out, { recursive: true });
  } catch (err) {
    throw new CliError(`cannot create ${f.out}: ${(err as Error).message}`);
  }

  const nc = await connectNats({ natsUrl: f['nats-url'], creds: f.creds });
  const writers = new Map<TableName, TableWriter>();
  try {
    for (const t of tables) writers.set(t, openTableWriter(format, SCHEMAS[t], f.out));
    const w = (t: TableName) => writers.get(t);
    const builder = new TableBuilder(
      {
        sessions: w('sessions') && ((r) => inRange(r.opened_at, sinceMs, untilMs) && w('sessions')!.write(r)),
        offers: w('offers') && ((r) => inRange(r.offered_at, sinceMs, untilMs) && w('offers')!.write(r)),
        messages: w('messages') && ((r) => inRange(r.sent_at, sinceMs, untilMs) && w('messages')!.write(r)),
        agentStates: w('agent_states') && ((r) => inRange(r.started_at, sinceMs, untilMs) && w('agent_states')!.write(r)),
      },
      { includeBodies: !!f['include-bodies'] },
    );
    let events = 0;
    let inWindow = 0;
    // From the start of the log: a session or an agent's interval in range may have begun before it.
    await readEvents(nc, { stream: f.stream ?? 'PARLEY_EVENTS', untilMs, quiet: !!f.quiet }, (e) => {
      if (sinceMs !== null || untilMs !== null) {
        const t = Date.parse(eventInstant(e));
        if (untilMs !== null && t >= untilMs) return;
        if (sinceMs === null || t >= sinceMs) inWindow++;
      } else inWindow++;
      events++;
      builder.apply(e);
    });
    builder.finish(untilMs !== null ? new Date(Math.min(untilMs, now)).toISOString() : undefined);
    if (inWindow === 0) throw new CliError(events === 0 ? 'no events in the stream' : 'no events in the time range asked for');
    const estimates = w('wait_estimates');
    if (estimates) {
      try {
        await readWaitEstimates(nc, builder.outcomes, { sinceMs, untilMs, quiet: !!f.quiet, stream: f['deliveries-stream'] }, (row) => estimates.write(row));
      } catch (err) {
        if (!(err instanceof CliError && /not found/.test(err.message))) throw err;
        process.stderr.write(`warning: ${err.message}; wait_estimates is empty\n`);
      }
    }
    for (const [t, writer] of writers) {
      const path = await writer.close();
      if (!f.quiet) process.stderr.write(`${t}: ${writer.rows.toLocaleString('en')} rows → ${path}\n`);
    }
    writers.clear();
  } finally {
    for (const writer of writers.values()) await writer.close().catch(() => undefined);
    await nc.close().catch(() => undefined);
  }
  return 0;
}

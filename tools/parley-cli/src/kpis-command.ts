import { writeFileSync } from 'node:fs';
import { type KpiGrouping, KpiAccumulator, TableBuilder, formatKpiTable, kpiHtmlReport } from '@parley/analytics';
import { CliError } from './cli-errors.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, checkRange, parseChoice, parseDuration, parseFlags, parseInstant, parseNumber } from './cli-options.js';
import { readEvents } from './event-source.js';
import { connectNats } from './nats-reader.js';

export const KPIS_HELP = `parley kpis: contact-center figures from the event log

Usage: parley kpis [--by queue|agent|entry-point|all] [--interval 15m] [--since T] [--until T] [--service-level 20] [--html FILE] [--json]

  --by G              group by queue (default), agent, entry-point, or all (every queue together)
  --interval D        one row per group and interval (15m, 1h, ...); default: one row for the whole range
  --since T, --until T  sessions queued in [since, until) (ISO 8601, or a duration ago: 2h)
  --service-level S   answered within S seconds counts towards the service level (default 20)
  --short-abandon S   abandons within S seconds are "short" and counted apart (default 5)
  --html FILE         also write a self-contained page with charts (inline SVG, no CDN)
  --json              print the rows as JSON instead of a table

Figures: offered (sessions that reached a queue), answered, abandoned, short abandons, abandon rate (short
ones apart), ASA (average wait of answered sessions), AHT (assignment to end), service level (answered within
S ÷ offered, short abandons apart), longest wait, transfer rate, bot containment (sessions a bot took that
never went to a person), occupancy (per agent: busy ÷ available + busy + wrap-up time; with --by agent).
${CONNECTION_HELP}`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  by: { type: 'string' },
  interval: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  'service-level': { type: 'string' },
  'short-abandon': { type: 'string' },
  html: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function kpisCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, OPTIONS);
  if (f.help) {
    process.stdout.write(`${KPIS_HELP}\n`);
    return 0;
  }
  const by = parseChoice<KpiGrouping>('by', f.by, ['queue', 'agent', 'entry-point', 'all'], 'queue');
  const intervalSeconds = f.interval === undefined ? null : parseDuration('interval', f.interval);
  const serviceLevelSeconds = parseNumber('service-level', f['service-level'], 20);
  const shortAbandonSeconds = parseNumber('short-abandon', f['short-abandon'], 5);
  const now = Date.now();
  const sinceMs = parseInstant('since', f.since, now);
  const untilMs = parseInstant('until', f.until, now);
  checkRange(sinceMs, untilMs);

  const acc = new KpiAccumulator({ by, intervalSeconds, serviceLevelSeconds, shortAbandonSeconds, sinceMs, untilMs });
  const builder = new TableBuilder({ sessions: (r) => acc.addSession(r), agentStates: (r) => acc.addAgentState(r) });
  const nc = await connectNats({ natsUrl: f['nats-url'], creds: f.creds });
  try {
    await readEvents(nc, { stream: f.stream ?? 'PARLEY_EVENTS', untilMs, quiet: !!f.quiet }, (e) => builder.apply(e));
  } finally {
    await nc.close().catch(() => undefined);
  }
  builder.finish(untilMs !== null ? new Date(Math.min(untilMs, now)).toISOString() : undefined);
  const rows = acc.result();
  if (rows.length === 0) throw new CliError('no sessions reached a queue in the time range asked for');
  if (f.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else process.stdout.write(formatKpiTable(rows));
  if (f.html) {
    const page = kpiHtmlReport(rows, { title: 'Parley KPIs', generatedAt: new Date(now).toISOString(), by, interval: f.interval ?? null, serviceLevelSeconds });
    try {
      writeFileSync(f.html, page);
    } catch (err) {
      throw new CliError(`cannot write ${f.html}: ${(err as Error).message}`);
    }
    if (!f.quiet) process.stderr.write(`wrote ${f.html}\n`);
  }
  return 0;
}

import { PERCENT_FLOOR_SECONDS, type Row, TableBuilder, type ToldEstimate, formatEstimateScore, scoreEstimates } from '@parley/analytics';
import { CliError, UsageError } from './cli-errors.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, checkRange, parseFlags, parseInstant } from './cli-options.js';
import { readEvents, readWaitEstimates } from './event-source.js';
import { connectNats } from './nats-reader.js';

export const ESTIMATES_HELP = `parley estimates: scores every wait estimate told to customers against the wait that followed

Usage: parley estimates [--since T] [--until T] [--by-queue] [--json]

Reads the status deliveries stored on PARLEY_DELIVERIES (position and estimated wait, told to waiting customers)
and the session events; the actual wait runs from the moment an estimate was told to the assignment. Customers
who gave up are counted as told but not scored. Percentage errors are taken over max(actual, 10 s) (--percent-floor).
Prints: count, median absolute error (s), median absolute percentage error, share within ±20% and ±50%, and,
for estimates told as a range, how often the actual wait fell inside.

  --since T, --until T  estimates told in [since, until)
  --by-queue          a score per queue as well
  --percent-floor S   percentage errors over max(actual, S seconds) (default 10: "0 s" told for a 4 s wait is right);
                      a run faster than real time scales it with the clock
  --json              JSON instead of text
  --deliveries-stream NAME  (default PARLEY_DELIVERIES)
${CONNECTION_HELP}`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  since: { type: 'string' },
  until: { type: 'string' },
  'by-queue': { type: 'boolean' },
  json: { type: 'boolean' },
  'deliveries-stream': { type: 'string' },
  'percent-floor': { type: 'string' },
} as const;

const told = (r: Row): ToldEstimate => ({
  estimatedSeconds: r.estimated_wait_seconds as number,
  lowSeconds: r.low_seconds as number | null,
  highSeconds: r.high_seconds as number | null,
  actualSeconds: r.actual_wait_seconds as number | null,
});

export async function estimatesCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, OPTIONS);
  if (f.help) {
    process.stdout.write(`${ESTIMATES_HELP}\n`);
    return 0;
  }
  const now = Date.now();
  const sinceMs = parseInstant('since', f.since, now);
  const untilMs = parseInstant('until', f.until, now);
  checkRange(sinceMs, untilMs);
  const percentFloorSeconds = f['percent-floor'] === undefined ? PERCENT_FLOOR_SECONDS : Number(f['percent-floor']);
  if (!Number.isFinite(percentFloorSeconds) || percentFloorSeconds <= 0) throw new UsageError(`--percent-floor must be a number of seconds above 0, not "${f['percent-floor']}"`);
  const nc = await connectNats({ natsUrl: f['nats-url'], creds: f.creds });
  const rows: Row[] = [];
  try {
    const builder = new TableBuilder({});
    await readEvents(nc, { stream: f.stream ?? 'PARLEY_EVENTS', quiet: !!f.quiet }, (e) => builder.apply(e));
    await readWaitEstimates(nc, builder.outcomes, { sinceMs, untilMs, quiet: !!f.quiet, stream: f['deliveries-stream'] }, (r) => rows.push(r));
  } finally {
    await nc.close().catch(() => undefined);
  }
  if (rows.length === 0) throw new CliError('no wait estimates were told to customers in the time range asked for');
  const overall = scoreEstimates(rows.map(told), { percentFloorSeconds });
  const byQueue: Record<string, ReturnType<typeof scoreEstimates>> = {};
  if (f['by-queue']) {
    const queues = [...new Set(rows.map((r) => (r.queue_id as string | null) ?? '(unknown)'))].sort();
    for (const q of queues) byQueue[q] = scoreEstimates(rows.filter((r) => ((r.queue_id as string | null) ?? '(unknown)') === q).map(told), { percentFloorSeconds });
  }
  if (f.json) process.stdout.write(`${JSON.stringify({ overall, ...(f['by-queue'] ? { byQueue } : {}) }, null, 2)}\n`);
  else {
    process.stdout.write(formatEstimateScore(overall));
    for (const [q, s] of Object.entries(byQueue)) process.stdout.write(`\nqueue ${q}\n${formatEstimateScore(s)}`);
  }
  return 0;
}

import { CliError, UsageError } from './cli-errors.js';
import { ESTIMATES_HELP, estimatesCommand } from './estimates-command.js';
import { EVENTS_HELP, eventsCommand } from './events-command.js';
import { EXPORT_HELP, exportCommand } from './export-command.js';
import { KPIS_HELP, kpisCommand } from './kpis-command.js';
import { WHATIF_HELP, whatifCommand } from './whatif-command.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string; summary: string }> = {
  events: { run: eventsCommand, help: EVENTS_HELP, summary: 'the event log as NDJSON, from a position or a time range; --follow tails it' },
  export: { run: exportCommand, help: EXPORT_HELP, summary: 'analyst tables (sessions, offers, messages, agent_states, wait_estimates) as Parquet, CSV or NDJSON' },
  kpis: { run: kpisCommand, help: KPIS_HELP, summary: 'offered, answered, abandoned, ASA, AHT, service level, occupancy... by queue, agent or entry point' },
  whatif: { run: whatifCommand, help: WHATIF_HELP, summary: 'replay recorded arrivals under a proposed contact-center file or roster' },
  estimates: { run: estimatesCommand, help: ESTIMATES_HELP, summary: 'score the wait estimates told to customers against the waits that followed' },
};

export const USAGE = `parley: analysts' command-line tool for Parley (read-only)

Usage: parley <command> [flags]     (parley <command> --help for a command's flags)

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Connects to $NATS_URL (default nats://127.0.0.1:4222) with $NATS_CREDS, $NATS_USER/$NATS_PASSWORD or $NATS_TOKEN.
Exit codes: 0 done, 1 could not do it (message on stderr), 2 bad usage.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`parley: unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`parley ${name}: ${err.message}\n(run \`parley ${name} --help\` for the flags)\n`);
      return 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`parley ${name}: ${err.message}\n`);
      return 1;
    }
    // Anything else is a bug or an outage: one line, the stack only when asked for.
    process.stderr.write(`parley ${name}: ${(err as Error)?.message ?? String(err)}\n`);
    if (process.env.PARLEY_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    return 1;
  }
}

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Open handles (a NATS reconnect timer, DuckDB threads) must not keep a finished command alive.
setTimeout(() => process.exit(code), 50).unref();

import type { LoggerService } from '@nestjs/common';
import { activeTraceIds } from './tracing.js';

/** `silent` writes nothing (tests that provoke errors on purpose keep their output clean). */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 50 } as const;
export type LogLevel = keyof typeof LEVELS;

/** One JSON object a line on stdout, the shape log pipelines on Kubernetes expect. */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly service: string,
    private readonly level: LogLevel = 'info',
  ) {}

  private write(level: LogLevel, message: unknown, context?: unknown, extra?: Record<string, unknown>) {
    if (LEVELS[level] < LEVELS[this.level]) return;
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, service: this.service };
    if (typeof context === 'string') line.context = context;
    if (message instanceof Error) {
      line.msg = message.message;
      line.err = { name: message.name, stack: message.stack, cause: String((message as Error & { cause?: unknown }).cause ?? '') };
    } else if (typeof message === 'object' && message !== null) Object.assign(line, message);
    else line.msg = String(message);
    if (extra) Object.assign(line, extra);
    // Traced, a line written inside a span names its trace, so logs and traces join up.
    const ids = activeTraceIds();
    if (ids) Object.assign(line, ids);
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }

  log(message: unknown, context?: unknown) {
    this.write('info', message, context);
  }
  error(message: unknown, stackOrContext?: unknown, context?: unknown) {
    const ctx = context ?? (typeof stackOrContext === 'string' && !stackOrContext.includes('\n') ? stackOrContext : undefined);
    const stack = typeof stackOrContext === 'string' && stackOrContext.includes('\n') ? { stack: stackOrContext } : undefined;
    this.write('error', message, ctx, stack);
  }
  warn(message: unknown, context?: unknown) {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: unknown) {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: unknown) {
    this.write('debug', message, context);
  }
}

import { readFileSync } from 'node:fs';
import type { BusinessHours, CapabilityRule, IntakeFlow, IntakeQuestion, LocalizedText, QueueRouting } from '@parley/domain';
import { plainToInstance } from 'class-transformer';
import { type ValidationError, validateSync } from 'class-validator';
import { LineCounter, parseDocument } from 'yaml';
import { CenterConfig, type FlowConfig, type HoursConfig, type QueueConfig } from './center-config.schema.js';

export class CenterConfigError extends Error {
  override readonly name = 'CenterConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid contact-center file:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export type Path = (string | number)[];
const render = (path: Path) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

/** Type checks: when one fails, range checks on the same value (min, max, length) say nothing more. */
const TYPE_CONSTRAINTS = new Set(['isInt', 'isNumber', 'isString', 'isBoolean', 'isArray', 'isObject', 'isIn', 'isEnum']);

function collect(errors: ValidationError[], path: Path = []): { path: Path; message: string }[] {
  return errors.flatMap((e) => {
    const here = [...path, /^\d+$/.test(e.property) ? Number(e.property) : e.property];
    const constraints = Object.entries(e.constraints ?? {});
    const typeErrors = constraints.filter(([name]) => TYPE_CONSTRAINTS.has(name));
    const shown = typeErrors.length > 0 ? typeErrors.map(([, message]) => `${message} (got ${JSON.stringify(e.value)})`) : constraints.map(([, message]) => message);
    return [...shown.map((message) => ({ path: here, message })), ...collect(e.children ?? [], here)];
  });
}

/**
 * Reads a YAML or JSON file into a validated class instance. Every problem (syntax, a field, a cross-reference)
 * is reported as `file:line:column: field.path: message`, pointing at the field or, when it is missing, its parent.
 */
export function loadValidatedFile<T extends object>(file: string, cls: new () => T, extraChecks: (value: T) => { path: Path; message: string }[] = () => []): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CenterConfigError([`${file}: cannot be read (${(err as Error).message})`]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) throw new CenterConfigError(doc.errors.map((e) => `${at(e.pos[0])}: ${e.message.split('\n')[0]}`));
  const value = plainToInstance(cls, doc.toJS() ?? {});
  const problems = collect(validateSync(value, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: false }));
  problems.push(...extraChecks(value));
  if (problems.length > 0) {
    throw new CenterConfigError(
      problems.map(({ path, message }) => {
        for (let n = path.length; n >= 0; n--) {
          const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
          if (node?.range) return `${at(node.range[0])}: ${render(path)}: ${message}`;
        }
        return `${file}: ${render(path)}: ${message}`;
      }),
    );
  }
  return value;
}

export interface QueueLimits {
  maxWaiting: number | null;
  maxEstimatedWaitSeconds: number | null;
  overloadedMessage: LocalizedText;
}

/** The contact center's behaviour that is configuration, not events: intake flows, hours, queue limits, rules. */
export class CenterSettings {
  private constructor(private readonly config: CenterConfig) {}

  static empty(): CenterSettings {
    return new CenterSettings(new CenterConfig());
  }

  /** Reads and validates a YAML or JSON file; every problem names the file, line, column and field. */
  static load(file: string): CenterSettings {
    return new CenterSettings(loadValidatedFile(file, CenterConfig, crossReferences));
  }

  flow(flowId: string): IntakeFlow | undefined {
    const f = this.config.flows.find((x) => x.id === flowId);
    return f && toFlow(f);
  }

  /** The flow an entry point uses: the one named at registration, else the one the file assigns to it. */
  flowFor(entryPointId: string, registeredFlowId: string | null | undefined): IntakeFlow | undefined {
    const id = registeredFlowId ?? this.config.entryPoints.find((e) => e.id === entryPointId)?.flow;
    return id ? this.flow(id) : undefined;
  }

  /** The entry point's idle timeout, when the file sets one (the service's default applies otherwise). */
  idleTimeoutFor(entryPointId: string): { warnAfterSeconds: number; endAfterSeconds: number } | undefined {
    const t = this.config.entryPoints.find((e) => e.id === entryPointId)?.idleTimeout;
    return t && { warnAfterSeconds: t.warnAfterSeconds, endAfterSeconds: Math.max(t.endAfterSeconds, t.warnAfterSeconds) };
  }

  hoursFor(entryPointId: string): BusinessHours | undefined {
    const id = this.config.entryPoints.find((e) => e.id === entryPointId)?.hours;
    const h = id ? this.config.hours.find((x) => x.id === id) : undefined;
    return h && toHours(h);
  }

  queueLimits(queueId: string): QueueLimits | undefined {
    const q = this.config.queues.find((x) => x.id === queueId);
    return q && toLimits(q);
  }

  /** A queue's routing rules: strategy and widening steps (absent: the router's default). */
  routingOf(queueId: string): QueueRouting | undefined {
    const q = this.config.queues.find((x) => x.id === queueId);
    return q && { strategy: q.strategy, steps: q.steps.map((st) => ({ ...st })) };
  }

  get capabilityRules(): CapabilityRule[] {
    return this.config.capabilityRules.map((r) => ({ ...r }));
  }
}

function crossReferences(config: CenterConfig): { path: Path; message: string }[] {
  const problems: { path: Path; message: string }[] = [];
  const flowIds = new Set(config.flows?.map((f) => f.id));
  const hourIds = new Set(config.hours?.map((h) => h.id));
  config.flows?.forEach((flow, fi) => {
    const ids = new Set(flow.questions?.map((q) => q.id));
    if (flow.start && !ids.has(flow.start)) problems.push({ path: ['flows', fi, 'start'], message: `start names no question of flow ${flow.id}` });
    flow.questions?.forEach((q, qi) => {
      if (q.kind === 'menu' && !q.options) problems.push({ path: ['flows', fi, 'questions', qi, 'kind'], message: 'a menu question needs options' });
      if (q.next && !ids.has(q.next)) problems.push({ path: ['flows', fi, 'questions', qi, 'next'], message: `next names no question of flow ${flow.id}` });
      q.options?.forEach((o, oi) => {
        if (o.next && !ids.has(o.next)) problems.push({ path: ['flows', fi, 'questions', qi, 'options', oi, 'next'], message: `next names no question of flow ${flow.id}` });
      });
    });
  });
  config.entryPoints?.forEach((e, i) => {
    if (e.flow && !flowIds.has(e.flow)) problems.push({ path: ['entryPoints', i, 'flow'], message: `flow names no flow in this file` });
    if (e.hours && !hourIds.has(e.hours)) problems.push({ path: ['entryPoints', i, 'hours'], message: `hours names no hours in this file` });
  });
  config.queues?.forEach((q, i) => {
    q.steps?.forEach((st, si) => {
      if (si > 0 && typeof st.afterSeconds === 'number' && st.afterSeconds <= (q.steps[si - 1]?.afterSeconds ?? -1)) {
        problems.push({ path: ['queues', i, 'steps', si, 'afterSeconds'], message: 'steps must be in increasing afterSeconds' });
      }
    });
  });
  config.capabilityRules?.forEach((r, i) => {
    if (!r.whenClientHas === !r.whenClientLacks) problems.push({ path: ['capabilityRules', i], message: 'a rule needs exactly one of whenClientHas, whenClientLacks' });
  });
  return problems;
}

function toFlow(f: FlowConfig): IntakeFlow {
  return {
    id: f.id,
    defaultLocale: f.defaultLocale,
    greeting: f.greeting,
    retry: f.retry,
    done: f.done,
    maxAttempts: f.maxAttempts,
    fallback: { ...f.fallback },
    start: f.start,
    questions: f.questions.map((q): IntakeQuestion =>
      q.kind === 'menu'
        ? { id: q.id, kind: 'menu', prompt: q.prompt, attribute: q.attribute, options: (q.options ?? []).map((o) => ({ key: o.key, label: o.label, route: o.route && { ...o.route }, next: o.next })) }
        : { id: q.id, kind: 'text', prompt: q.prompt, attribute: q.attribute, pattern: q.pattern, route: q.route && { ...q.route }, next: q.next },
    ),
  };
}

function toHours(h: HoursConfig): BusinessHours {
  return { timeZone: h.timeZone, weekly: h.weekly, holidays: h.holidays, closures: h.closures.map((c) => ({ from: c.from, to: c.to })), closedMessage: h.closedMessage, leaveMessage: h.leaveMessage };
}

function toLimits(q: QueueConfig): QueueLimits {
  return { maxWaiting: q.maxWaiting ?? null, maxEstimatedWaitSeconds: q.maxEstimatedWaitSeconds ?? null, overloadedMessage: q.overloadedMessage };
}

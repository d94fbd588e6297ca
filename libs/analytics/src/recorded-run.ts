import type { AgentProfile, Requirements } from '@parley/domain';
import { type AnalyticsEvent, eventInstant } from './analytics-event.js';
import { median } from './estimate-score.js';
import { type KpiOptions, type KpiRow, computeKpis } from './kpis.js';
import { TableBuilder } from './table-builder.js';
import type { Row } from './table-schemas.js';
import type { SimAgent, SimArrival } from './whatif-simulator.js';

/**
 * What a what-if needs of a recorded run: its sessions (arrivals, requirements, handle times, patience) and its
 * roster (each agent's last profile and the intervals they were available).
 */
export class RecordedRun {
  readonly sessions: Row[] = [];
  readonly agentStates: Row[] = [];
  private readonly profiles = new Map<string, AgentProfile>();
  private readonly shifts = new Map<string, { fromMs: number; toMs: number | null }[]>();
  private readonly tables = new TableBuilder({ sessions: (r) => this.sessions.push(r), agentStates: (r) => this.agentStates.push(r) });
  private finished = false;

  apply(e: AnalyticsEvent): void {
    this.tables.apply(e);
    if (e.aggregate !== 'agent') return;
    const t = Date.parse(eventInstant(e));
    const list = this.shifts.get(e.aggregateId) ?? [];
    this.shifts.set(e.aggregateId, list);
    const on = list.length > 0 && list.at(-1)!.toMs === null;
    const start = () => {
      if (!on) list.push({ fromMs: t, toMs: null });
    };
    const stop = () => {
      if (on) list.at(-1)!.toMs = t;
    };
    if (e.type === 'AgentLoggedIn') {
      this.profiles.set(e.aggregateId, (e.data as { profile: AgentProfile }).profile);
      start();
    } else if (e.type === 'AgentStateChanged') {
      if ((e.data as { state: string }).state === 'available') start();
      else stop();
    } else if (e.type === 'AgentLoggedOut') stop();
  }

  finish(): this {
    if (!this.finished) this.tables.finish();
    this.finished = true;
    return this;
  }

  /** Customers who reached a queue, in arrival order, with what they needed and what followed. */
  arrivals(): SimArrival[] {
    this.finish();
    const handlesByQueue = new Map<string, number[]>();
    const delays: number[] = [];
    for (const s of this.sessions) {
      if (s.handle_seconds !== null && s.queue_id)
        (handlesByQueue.get(s.queue_id as string) ?? handlesByQueue.set(s.queue_id as string, []).get(s.queue_id as string)!).push(s.handle_seconds as number);
      if (s.offer_to_assign_seconds !== null) delays.push(s.offer_to_assign_seconds as number);
    }
    const all = [...handlesByQueue.values()].flat();
    const standIn = (q: string) => median(handlesByQueue.get(q) ?? []) ?? median(all) ?? 60;
    const delay = median(delays) ?? 0;
    return this.sessions
      .filter((s) => s.reached_queue && s.queued_at && s.queue_id)
      .map((s) => ({
        sessionId: s.session_id as string,
        entryPointId: s.entry_point_id as string,
        openedAtMs: Date.parse(s.opened_at as string),
        arrivedAtMs: Date.parse(s.queued_at as string),
        queueId: s.queue_id as string,
        priority: (s.priority as number | null) ?? 0,
        requirements: s.requirements ? (JSON.parse(s.requirements as string) as Requirements) : undefined,
        handleSeconds: (s.handle_seconds as number | null) ?? (s.assigned_at ? null : standIn(s.queue_id as string)),
        patienceSeconds: s.abandoned && !s.assigned_at ? (s.wait_seconds as number | null) : null,
        acceptDelaySeconds: (s.offer_to_assign_seconds as number | null) ?? delay,
      }))
      .map((a) => ({ ...a, handleSeconds: a.handleSeconds ?? standIn(a.queueId) }))
      .sort((a, b) => a.arrivedAtMs - b.arrivedAtMs);
  }

  roster(): SimAgent[] {
    return [...this.profiles].map(([agentId, profile]) => ({ agentId, profile, shifts: (this.shifts.get(agentId) ?? []).map((s) => ({ ...s })) }));
  }
}

export interface RosterChanges {
  /** New agents: a copy of a recorded agent (`like`), with profile fields overridden; available all along unless shifts are given. */
  add?: { agentId: string; like?: string; profile?: Partial<AgentProfile>; shifts?: { from: string; to?: string | null }[] }[];
  remove?: string[];
  /** Profile fields of recorded agents changed (capacity, skills, queues, languages, wrapUpSeconds, kind). */
  change?: ({ agentId: string } & Partial<AgentProfile>)[];
}

export class RosterChangeError extends Error {
  override readonly name = 'RosterChangeError';
}

const DEFAULT_PROFILE: AgentProfile = { displayName: 'what-if agent', kind: 'human', skills: {}, languages: [], capacity: 1, capabilities: [], queues: null };

/** The roster with the changes applied; names any agent the changes refer to that the run does not have. */
export function applyRosterChanges(roster: readonly SimAgent[], changes: RosterChanges, allAlongFromMs: number): SimAgent[] {
  const byId = new Map(roster.map((a) => [a.agentId, { ...a, profile: { ...a.profile }, shifts: a.shifts.map((s) => ({ ...s })) }]));
  for (const id of changes.remove ?? []) {
    if (!byId.delete(id)) throw new RosterChangeError(`remove: no agent ${id} in the recorded run`);
  }
  for (const c of changes.change ?? []) {
    const a = byId.get(c.agentId);
    if (!a) throw new RosterChangeError(`change: no agent ${c.agentId} in the recorded run`);
    const { agentId: _id, ...fields } = c;
    a.profile = { ...a.profile, ...fields };
  }
  for (const n of changes.add ?? []) {
    if (byId.has(n.agentId)) throw new RosterChangeError(`add: agent ${n.agentId} is already in the roster`);
    const like = n.like === undefined ? undefined : (byId.get(n.like) ?? roster.find((r) => r.agentId === n.like));
    if (n.like !== undefined && !like) throw new RosterChangeError(`add: like names no agent ${n.like} of the recorded run`);
    const shifts = n.shifts?.map((s) => ({ fromMs: Date.parse(s.from), toMs: s.to ? Date.parse(s.to) : null })) ?? like?.shifts.map((s) => ({ ...s })) ?? [{ fromMs: allAlongFromMs, toMs: null }];
    if (shifts.some((s) => Number.isNaN(s.fromMs) || Number.isNaN(s.toMs ?? 0))) throw new RosterChangeError(`add: ${n.agentId} has a shift with an unreadable instant`);
    byId.set(n.agentId, { agentId: n.agentId, profile: { ...(like?.profile ?? DEFAULT_PROFILE), ...n.profile }, shifts });
  }
  return [...byId.values()];
}

export interface WhatIfComparison {
  recorded: KpiRow[];
  proposed: KpiRow[];
}

export function compareKpis(recorded: { sessions: Row[]; agentStates: Row[] }, proposed: { sessions: Row[]; agentStates: Row[] }, options: KpiOptions): WhatIfComparison {
  return { recorded: computeKpis(recorded.sessions, recorded.agentStates, options), proposed: computeKpis(proposed.sessions, proposed.agentStates, options) };
}

/** The tolerance a replay of the unchanged file and roster is held to (tests and docs state the same). */
export const REPLAY_TOLERANCE = { asaSeconds: 2, asaRelative: 0.1, abandonRatePoints: 0.05 } as const;

export function withinReplayTolerance(recorded: KpiRow, replayed: KpiRow): boolean {
  const asaR = recorded.averageSpeedOfAnswerSeconds ?? 0;
  const asaP = replayed.averageSpeedOfAnswerSeconds ?? 0;
  const asaOk = Math.abs(asaR - asaP) <= Math.max(REPLAY_TOLERANCE.asaSeconds, REPLAY_TOLERANCE.asaRelative * asaR);
  const abOk = Math.abs((recorded.abandonRate ?? 0) - (replayed.abandonRate ?? 0)) <= REPLAY_TOLERANCE.abandonRatePoints;
  return asaOk && abOk;
}

const METRICS: readonly [keyof KpiRow, string, 'n' | 's' | '%'][] = [
  ['offered', 'offered', 'n'],
  ['answered', 'answered', 'n'],
  ['abandoned', 'abandoned', 'n'],
  ['abandonRate', 'abandon rate', '%'],
  ['averageSpeedOfAnswerSeconds', 'ASA (s)', 's'],
  ['averageHandleSeconds', 'AHT (s)', 's'],
  ['serviceLevel', 'service level', '%'],
  ['longestWaitSeconds', 'longest wait (s)', 's'],
  ['occupancy', 'occupancy', '%'],
];

export function formatComparison(c: WhatIfComparison): string {
  const groups = [...new Set([...c.recorded, ...c.proposed].map((r) => r.group))].sort();
  const f = (v: unknown, kind: 'n' | 's' | '%') => (v === null || v === undefined ? '-' : kind === '%' ? `${((v as number) * 100).toFixed(1)}%` : kind === 's' ? (v as number).toFixed(1) : String(v));
  const lines: string[] = [];
  for (const g of groups) {
    const r = c.recorded.find((x) => x.group === g);
    const p = c.proposed.find((x) => x.group === g);
    lines.push(`${g}`);
    lines.push(`  ${'metric'.padEnd(18)}${'recorded'.padStart(12)}${'what-if'.padStart(12)}`);
    for (const [key, title, kind] of METRICS) lines.push(`  ${title.padEnd(18)}${f(r?.[key], kind).padStart(12)}${f(p?.[key], kind).padStart(12)}`);
  }
  return lines.join('\n') + '\n';
}

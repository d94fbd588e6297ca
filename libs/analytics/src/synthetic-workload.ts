import type { AgentProfile } from '@parley/domain';
import type { SimAgent, SimArrival } from './whatif-simulator.js';

/** A small seeded generator (mulberry32): the same seed gives the same workload on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface WorkloadOptions {
  seed: number;
  startMs: number;
  hours: number;
  /** Arrivals per hour at the peak (a day-shaped curve rises to it and falls back). */
  peakPerHour: number;
  queues: readonly string[];
  agentsPerQueue: number;
  capacity: number;
  /** Median handle time; the distribution is log-normal with this sigma (1.0 is strongly long-tailed). */
  medianHandleSeconds: number;
  handleSigma: number;
  /** Mean patience of customers (exponential); null: nobody gives up. */
  meanPatienceSeconds: number | null;
  wrapUpSeconds: number;
  acceptDelaySeconds: number;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = {
  seed: 13,
  startMs: Date.UTC(2026, 10, 2, 8),
  hours: 8,
  peakPerHour: 120,
  queues: ['billing', 'support'],
  agentsPerQueue: 6,
  capacity: 1,
  medianHandleSeconds: 240,
  handleSigma: 0.9,
  meanPatienceSeconds: 900,
  wrapUpSeconds: 20,
  acceptDelaySeconds: 3,
};

function normal(rand: () => number): number {
  const u = Math.max(1e-12, rand());
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A realistic long-tailed day: arrivals by a time-varying Poisson process, log-normal handle times, impatient customers. */
export function syntheticWorkload(o: WorkloadOptions = DEFAULT_WORKLOAD): { arrivals: SimArrival[]; roster: SimAgent[] } {
  const rand = seededRandom(o.seed);
  const arrivals: SimArrival[] = [];
  const endMs = o.startMs + o.hours * 3_600_000;
  let t = o.startMs;
  let n = 0;
  for (;;) {
    // Thinning: draw at the peak rate, keep with the day curve's share.
    t += (-Math.log(Math.max(1e-12, rand())) / (o.peakPerHour / 3600)) * 1000;
    if (t >= endMs) break;
    const phase = (t - o.startMs) / (endMs - o.startMs);
    if (rand() > 0.35 + 0.65 * Math.sin(Math.PI * phase)) continue;
    const queueId = o.queues[Math.floor(rand() * o.queues.length)]!;
    const handle = Math.max(5, o.medianHandleSeconds * Math.exp(o.handleSigma * normal(rand)));
    const patience = o.meanPatienceSeconds === null ? null : -Math.log(Math.max(1e-12, rand())) * o.meanPatienceSeconds;
    const at = Math.round(t);
    arrivals.push({
      sessionId: `syn-${++n}`,
      entryPointId: `ep-${queueId}`,
      openedAtMs: at,
      arrivedAtMs: at,
      queueId,
      priority: 0,
      handleSeconds: Math.round(handle),
      patienceSeconds: patience === null ? null : Math.round(patience),
      acceptDelaySeconds: o.acceptDelaySeconds,
    });
  }
  const roster: SimAgent[] = [];
  for (const q of o.queues) {
    for (let i = 0; i < o.agentsPerQueue; i++) {
      const profile: AgentProfile = { displayName: `${q} ${i + 1}`, kind: 'human', skills: {}, languages: ['en'], capacity: o.capacity, capabilities: [], queues: [q], wrapUpSeconds: o.wrapUpSeconds };
      // Staggered shifts: a third start later and a third leave earlier (an eighth of the day: an hour of eight), so
      // staffing changes through the day.
      const stagger = (o.hours * 3_600_000) / 8;
      const from = o.startMs + (i % 3 === 1 ? stagger : 0);
      const to = i % 3 === 2 ? endMs - stagger : null;
      roster.push({ agentId: `${q}-agent-${i + 1}`, profile, shifts: [{ fromMs: from, toMs: to }] });
    }
  }
  return { arrivals, roster };
}

// The high-availability rehearsal (issue 12): Parley on a three-node nats-server cluster with two instances of
// every service, a steady conversation over the v1 contract, and the faults a Kubernetes cluster brings (a NATS
// node lost, the NATS servers restarted, pods rolled and killed). `npm run rehearsal` (scripts/rehearsal.mjs)
// runs it in full and the e2e suite (e2e/src/ha-rehearsal.e2e.test.ts) a shorter version; both print the same
// figures. The harness plays a channel gateway and agent desktops over plain NATS, as any integrator does, and
// reads Parley's own events at the end to check assignments and capacity.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliverPolicy, type JsMsg, type MsgRequest, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { findExecutable } from './executable.js';
import { type NatsClusterHandle, startNatsCluster } from './nats-cluster.launcher.js';
import { type ProsodyHandle, startProsody } from './prosody.launcher.js';
import { type ServiceHandle, launchService } from './service.launcher.js';

export const REHEARSAL_SERVICES = ['registration', 'presence-proxy', 'buffer', 'router', 'reporting', 'gateway-web', 'gateway-xmpp'] as const;
export type RehearsalService = (typeof REHEARSAL_SERVICES)[number];

export type FaultKind = 'node-loss' | 'cluster-restart' | 'rolling-restart' | 'instance-kill';

/** Longest gaps (ms) a fault may cause in offers and in deliveries (issue 12); none for a kill, reported only. */
export const GAP_TARGETS_MS: Record<FaultKind, number | undefined> = {
  'node-loss': 5_000,
  'rolling-restart': 5_000,
  'cluster-restart': 10_000,
  'instance-kill': undefined,
};

export interface RehearsalOptions {
  agents?: number;
  capacity?: number;
  /** Customers conversing at once (each starts a new session when the last one ends). */
  customers?: number;
  /** Numbered messages per session, each answered by the agent before the next. */
  messagesPerSession?: number;
  /** The faults, in order, each during the load. */
  faults?: FaultKind[];
  /** Services run, two instances each (default: all seven; gateway-xmpp only with prosody installed). */
  services?: RehearsalService[];
  /** Services rolled and killed (default: all seven). */
  faultServices?: RehearsalService[];
  /** Deliveries (both ways) the load must make before a fault starts and after each recovery step. */
  progressDeliveries?: number;
  /** How long a killed NATS node stays down, counted in deliveries made without it. */
  outageDeliveries?: number;
  /** Progress lines (stderr in the script). */
  log?: (line: string) => void;
  /** Extra environment for every service. */
  env?: Record<string, string>;
}

export interface FaultFigures {
  kind: FaultKind;
  label: string;
  seconds: number;
  offerGapMs: number;
  deliveryGapMs: number;
  targetMs?: number;
  /** When the fault was over (node back and caught up, cluster restarted, last instance replaced), from its start. */
  recoveredAfterMs: number;
  /** The first offer and delivery after that: how long Parley itself took once NATS or its instances were back. */
  firstOfferAfterMs: number;
  firstDeliveryAfterMs: number;
  /** Service instances seen not ready (503) while the fault lasted. */
  notReady: string[];
  /**
   * The NATS servers' own recovery, from the fault's start (node loss, cluster restart): a JetStream meta leader
   * again, a leader for every stream and durable consumer, every replica current. Parley cannot be back before
   * its streams and consumers have leaders; the difference to the gaps is Parley's own.
   */
  server?: { metaLeaderMs?: number; eventsLeaderMs?: number; leadersMs?: number; currentMs?: number; leadersMissing?: string; slowest?: string[] };
  /** The longest time a delivery took from its publication by Parley to the harness's feed during the fault. */
  feedLagMs: number;
  /**
   * The same gaps by publication (a core subscription sees each offer and delivery as Parley publishes it): what
   * Parley did, without the harness's own feed in between. The harness's desktops answer what their feed gives
   * them, so a lagging feed still slows the load; the difference shows how much of a gap was the feed's.
   */
  publishedOfferGapMs: number;
  publishedDeliveryGapMs: number;
  detail?: string;
}

export interface MessageFigures {
  sent: number;
  acknowledged: number;
  delivered: number;
  /** Acknowledged and never delivered. */
  /** Acknowledged, its session assigned to an agent, and never delivered. */
  lost: number;
  /** The first few lost (`<sessionId>:c|a:<n>`), to look up in the services' logs. */
  lostSample: string[];
  /**
   * Acknowledged and still stored for a session no agent was ever assigned by the end (Parley delivers them on
   * assignment): not lost, but a session left waiting through the drain, counted apart.
   */
  awaitingAssignment: string[];
  /** Delivered under two or more delivery IDs (a desktop could not tell the repeat). */
  duplicated: number;
  /** Delivered again under the same delivery ID (at-least-once; a desktop drops it). */
  redelivered: number;
}

export interface RehearsalFigures {
  seconds: number;
  sessions: number;
  offers: number;
  customerMessages: MessageFigures;
  agentMessages: MessageFigures;
  /** Longest gaps with no fault, for comparison. */
  baseline: { offerGapMs: number; deliveryGapMs: number };
  faults: FaultFigures[];
  doubleAssignments: string[];
  doubleHolds: string[];
  overCapacity: string[];
  notReadyAtEnd: string[];
  xmpp: 'active/standby' | 'not run (prosody missing)' | 'not run';
  requestRetries: number;
  /** Waits for the load to move that timed out (60 s without deliveries). */
  stalls: string[];
  /** Agents Parley set away during the run (each made itself available again at once, as a desktop would). */
  agentsSetAway: string[];
}

const ENTRY = { entryPointId: 'ha-ep', address: 'support@ha.example.test', queueId: 'ha' };
const CHANNEL = 'ha';
const XMPP_DOMAIN = 'parley.ha.localhost';

interface Instance {
  service: RehearsalService;
  handle: ServiceHandle;
  name: string;
}

class Load {
  readonly offersAt: number[] = [];
  readonly deliveriesAt: number[] = [];
  /** Delivered message bodies and the delivery IDs each came with. */
  readonly atAgents = new Map<string, Set<string>>();
  readonly atCustomers = new Map<string, Set<string>>();
  readonly atAgentsCount = new Map<string, number>();
  readonly atCustomersCount = new Map<string, number>();
  readonly sentCustomer = new Set<string>();
  readonly ackedCustomer = new Set<string>();
  readonly sentAgent = new Set<string>();
  readonly ackedAgent = new Set<string>();
  readonly waiting = new Map<string, () => void>();
  /** When each message was first sent (ms into the run), to place a lost one among the faults. */
  readonly sentAt = new Map<string, number>();
  /** When offers and deliveries (as counted in offersAt, deliveriesAt) were first seen published. */
  readonly offersPublishedAt: number[] = [];
  readonly deliveriesPublishedAt: number[] = [];
  /** When each delivery was last seen published (core subscription), by delivery ID. */
  readonly publishedAt = new Map<string, number>();
  /** [when received, how long after its publication] for every delivery the feeds read. */
  readonly feedLags: [number, number][] = [];
  /** Agents Parley set away during the run (each made itself available again). */
  readonly setAway: string[] = [];
  /** Agents' replies sent and not yet answered. */
  repliesInFlight = 0;
  sessions = 0;
  offers = 0;
  retries = 0;
  /** Customers start sessions and send while this holds. */
  running = true;
  /**
   * Agents accept and answer until the very end: a customer's first message waits in the queue until an agent
   * accepts, so stopping the desktops with the customers would leave it undelivered (and counted lost) at no
   * fault of Parley's.
   */
  agentsRunning = true;
  deliveries = () => this.deliveriesAt.length;
}

/** A request answered by Parley: retried (same payload, so same message ID) on timeouts and `unavailable`, not on a refusal. */
async function request(
  nc: NatsConnection,
  load: Load,
  subject: string,
  payload: unknown,
  giveUpMs = 60_000,
  active = () => load.running,
): Promise<Record<string, unknown> & { error?: { code: string; message: string } }> {
  const deadline = Date.now() + giveUpMs;
  let delay = 100;
  for (;;) {
    try {
      const reply = (await nc.request(subject, JSON.stringify(payload), { timeout: 3_000 })).json<Record<string, unknown> & { error?: { code: string; message: string } }>();
      if (!reply.error || !['unavailable', 'timeout', 'internal'].includes(reply.error.code)) return reply;
    } catch {
      // no responders or a timeout while a service or a NATS node restarts: the gateway's way is to retry
    }
    load.retries++;
    if (Date.now() > deadline || !active()) throw new Error(`${subject} unanswered for ${giveUpMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1_000);
  }
}

/** A stored message as the harness reads it. */
interface FedMessage {
  subject: string;
  seq: number;
  json<T>(): T;
}

/**
 * Every message on `subject` of `stream` from now on, read one after the other by the stream leader's
 * message-get API (`next_by_subj`), as Parley's event store reads a stream: no consumer on the server, so
 * nothing to re-create after a fault (an ordered consumer is re-created through the meta leader, and after a lost
 * node those creations timed out for up to a minute: the harness then saw nothing while Parley went on). A get
 * that times out (its leader moving) is asked again after 100 ms.
 */
function follow(nc: NatsConnection, stream: string, subject: string, onMessage: (m: FedMessage) => void, isRunning: () => boolean): { stop(): void; ready: Promise<void>; wake(): void } {
  let stopped = false;
  // Nothing new: wait until woken (a publication on the subject seen, see the witness) or 250 ms at most, rather
  // than asking the server in a tight loop (the harness must not load the servers it measures).
  let wake: (() => void) | undefined;
  const idle = () =>
    new Promise<void>((r) => {
      const timer = setTimeout(r, 250);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  void (async () => {
    const jsm = await jetstreamManager(nc, { timeout: 1_000 });
    let next = 0;
    while (next === 0 && isRunning() && !stopped) {
      try {
        next = (await jsm.streams.info(stream)).state.last_seq + 1;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    resolveReady();
    while (isRunning() && !stopped) {
      try {
        // nats-server (2.9 on) takes next_by_subj on the message-get API; nats.js types it for direct gets only.
        const m = await jsm.streams.getMessage(stream, { seq: next, next_by_subj: subject } as MsgRequest);
        if (!m) {
          await idle();
          continue;
        }
        next = m.seq + 1;
        onMessage({ subject: m.subject, seq: m.seq, json: <T>() => m.json<T>() });
      } catch {
        // the stream's leader moving or the cluster restarting: ask again
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();
  return { stop: () => (stopped = true), ready, wake: () => wake?.() };
}

/** The longest time (ms) with none of `times` in [from, to]: from `from` to the first, between them, to `to`. */
export function longestGap(times: number[], from: number, to: number): number {
  let previous = from;
  let longest = 0;
  for (const t of times) {
    if (t < from) continue;
    if (t > to) break;
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  return Math.max(longest, to - previous);
}

export async function runHaRehearsal(options: RehearsalOptions = {}): Promise<RehearsalFigures> {
  const agents = options.agents ?? 8;
  const capacity = options.capacity ?? 2;
  const customers = options.customers ?? agents * capacity;
  const perSession = options.messagesPerSession ?? 4;
  const faults = options.faults ?? ['node-loss', 'cluster-restart', 'rolling-restart', 'instance-kill'];
  const progress = options.progressDeliveries ?? 20;
  const outage = options.outageDeliveries ?? 60;
  const log = options.log ?? (() => undefined);
  const faultServices = options.faultServices ?? [...REHEARSAL_SERVICES];
  const started = performance.now();
  const now = () => performance.now() - started;

  const dir = mkdtempSync(join(tmpdir(), 'parley-rehearsal-'));
  const logDir = join(dir, 'logs');
  log(`logs in ${logDir}`);
  const cluster: NatsClusterHandle = await startNatsCluster({ dir: join(dir, 'nats') });
  log(`nats-server cluster of ${cluster.nodes.length} up (${cluster.url})`);
  // Whatever happens (a service that does not come up, a failed assertion in the harness), nothing it started
  // outlives it: a test runner's worker that ends does not run the launchers' exit hooks.
  let prosody: ProsodyHandle | undefined;
  const instances = new Map<RehearsalService, Instance[]>();
  let connection: NatsConnection | undefined;
  try {
    if (findExecutable('prosody') && (options.services ?? REHEARSAL_SERVICES).includes('gateway-xmpp')) prosody = await startProsody({ componentDomain: XMPP_DOMAIN });

    const jwtSecret = randomBytes(32).toString('hex');
    const generation = new Map<RehearsalService, number>();
    const services = (options.services ?? [...REHEARSAL_SERVICES]).filter((s) => s !== 'gateway-xmpp' || prosody);
    const envOf = (service: RehearsalService, name: string): Record<string, string> => ({
      ...cluster.serviceEnv(service),
      // What the Kubernetes manifests set (infra/k8s/kustomization.yaml): three copies of every stream and bucket.
      PARLEY_STREAM_REPLICAS: '3',
      PARLEY_STREAM_STORAGE: 'file',
      SHUTDOWN_TIMEOUT_MS: '20000',
      ...(service === 'router' ? { ROUTER_INSTANCE_ID: name } : {}),
      ...(service === 'gateway-web' ? { WEB_JWT_SECRET: jwtSecret } : {}),
      ...(service === 'gateway-xmpp' && prosody
        ? { XMPP_COMPONENT_SERVICE: `xmpp://127.0.0.1:${prosody.componentPort}`, XMPP_COMPONENT_DOMAIN: prosody.componentDomain, XMPP_COMPONENT_SECRET: prosody.componentSecret }
        : {}),
      ...options.env,
    });
    /** A new instance of `service`, started: ready, or live for a gateway-xmpp standby (XMPP takes one component connection). */
    const launch = async (service: RehearsalService, until: 'ready' | 'live' = 'ready'): Promise<Instance> => {
      const n = (generation.get(service) ?? 0) + 1;
      generation.set(service, n);
      const name = `${service}-${n}`;
      const handle = await launchService(service, envOf(service, name), logDir, name);
      await handle.start({ until });
      const instance = { service, handle, name };
      instances.set(service, [...(instances.get(service) ?? []), instance]);
      return instance;
    };
    const retire = (instance: Instance) =>
      instances.set(
        instance.service,
        (instances.get(instance.service) ?? []).filter((i) => i !== instance),
      );
    const readyOf = async (i: Instance) => {
      try {
        return (await fetch(`http://127.0.0.1:${i.handle.httpPort}/health/ready`, { signal: AbortSignal.timeout(2_000) })).status === 200;
      } catch {
        return false;
      }
    };
    const xmppActive = async () => (await Promise.all((instances.get('gateway-xmpp') ?? []).map(readyOf))).some(Boolean);

    // registration first (presence-proxy's lookups need it), then one of each, then the second of each.
    await launch('registration');
    await Promise.all(services.filter((s) => s !== 'registration').map((s) => launch(s)));
    await Promise.all(services.map((s) => launch(s, s === 'gateway-xmpp' ? 'live' : 'ready')));
    const placements = await cluster.waitForStreams({ current: true });
    log(`two instances of ${services.join(', ')} up; ${placements.length} streams at ${placements[0]?.replicas.length === undefined ? '?' : placements[0].replicas.length + 1} replicas`);

    const nc = await connect(cluster.connectOptions('admin', { name: 'rehearsal', maxReconnectAttempts: -1, reconnectTimeWait: 100, pingInterval: 2_000 }));
    connection = nc;
    const load = new Load();
    const isRunning = () => load.agentsRunning;

    // Readiness as a Kubernetes probe would see it, sampled through every fault.
    const notReadySeen = new Set<string>();
    const sampler = setInterval(() => {
      for (const list of instances.values())
        for (const i of list) {
          if (i.service === 'gateway-xmpp') continue; // the standby is not ready by design
          void readyOf(i).then((ok) => (ok || !i.handle.running ? undefined : notReadySeen.add(i.name)));
        }
    }, 1_000);

    await request(nc, load, 'parley.v1.registration.register', { ...ENTRY, leaseSeconds: 3_600 });
    const agentIds = Array.from({ length: agents }, (_, i) => `ha-agent-${i}`);

    // The harness's own lag: every delivery is also a plain message on its subject, seen here as Parley publishes
    // it; the feeds below read what was stored. How long after its publication each delivery reached the harness
    // says whether a gap was Parley's or the harness's.
    const feeds: { wake(): void }[] = [];
    const witness = nc.subscribe('parley.v1.*.deliver.>', {
      callback: (err, m) => {
        if (err) return;
        // The feeds read it now (and again shortly: the publication may be seen before the stream has stored it).
        for (const f of feeds) {
          f.wake();
          setTimeout(() => f.wake(), 30);
        }
        try {
          const d = m.json<{ deliveryId?: string; kind?: string; author?: string; body?: string }>();
          const id = d.deliveryId;
          if (id && !load.publishedAt.has(id)) {
            if (d.kind === 'offer') load.offersPublishedAt.push(now());
            else if ((d.kind === 'message' && d.author !== 'agent' && d.body) || d.kind === 'text') load.deliveriesPublishedAt.push(now());
          }
          // The latest publication: a publish that timed out unstored is retried by Parley, and only a later one is read.
          if (id) load.publishedAt.set(id, now());
        } catch {
          // not a delivery
        }
      },
    });
    const received = (deliveryId: string) => {
      const published = load.publishedAt.get(deliveryId);
      if (published !== undefined) load.feedLags.push([now(), now() - published]);
    };

    // Desktops: accept every offer; answer every customer line with the same number.
    const agentFeed = follow(
      nc,
      'PARLEY_DELIVERIES',
      'parley.v1.agent.deliver.>',
      (m) => {
        const agentId = m.subject.split('.').at(-1)!;
        const d = m.json<{ kind: string; offerId?: string; sessionId: string; body?: string; author?: string; deliveryId: string }>();
        received(d.deliveryId);
        if (d.kind === 'offer') {
          load.offers++;
          load.offersAt.push(now());
          void request(nc, load, 'parley.v1.agent.offer.accept', { agentId, offerId: d.offerId }, 30_000, () => load.agentsRunning).catch(() => undefined);
        } else if (d.kind === 'message' && d.author !== 'agent' && d.body) {
          load.deliveriesAt.push(now());
          const ids = load.atAgents.get(d.body) ?? new Set<string>();
          ids.add(d.deliveryId);
          load.atAgents.set(d.body, ids);
          load.atAgentsCount.set(d.body, (load.atAgentsCount.get(d.body) ?? 0) + 1);
          if (load.atAgentsCount.get(d.body)! > 1) return; // a repeat: the desktop already answered it
          const reply = d.body.replace(':c:', ':a:');
          const messageId = `a-${reply.split(':').at(-1)}`;
          load.sentAgent.add(reply);
          load.sentAt.set(reply, now());
          load.repliesInFlight++;
          void request(nc, load, 'parley.v1.agent.message', { agentId, sessionId: d.sessionId, messageId, body: reply }, 60_000, () => load.agentsRunning)
            .then((r) => (r.error ? undefined : load.ackedAgent.add(reply)))
            .catch(() => undefined)
            .finally(() => load.repliesInFlight--);
        }
      },
      isRunning,
    );
    const customerFeed = follow(
      nc,
      'PARLEY_DELIVERIES',
      `parley.v1.im.deliver.${CHANNEL}`,
      (m) => {
        const d = m.json<{ kind: string; body: string; deliveryId: string }>();
        received(d.deliveryId);
        if (d.kind !== 'text') return;
        load.deliveriesAt.push(now());
        const ids = load.atCustomers.get(d.body) ?? new Set<string>();
        ids.add(d.deliveryId);
        load.atCustomers.set(d.body, ids);
        load.atCustomersCount.set(d.body, (load.atCustomersCount.get(d.body) ?? 0) + 1);
        load.waiting.get(d.body)?.();
      },
      isRunning,
    );
    // A desktop shows its agent being set away (offers missed while a fault held them up) and the agent makes
    // themself available again, as a real agent would: otherwise the harness would end with fewer agents than
    // waiting customers (a CI run left a session queued and never offered through the whole drain).
    const agentEvents = follow(
      nc,
      'PARLEY_EVENTS',
      'parley.v1.evt.agent.>',
      (m) => {
        const agentId = m.subject.split('.').at(-1)!;
        const e = m.json<{ type: string; data: { state?: string; reason?: string | null } }>();
        if (e.type !== 'AgentStateChanged' || e.data.state !== 'away' || !agentIds.includes(agentId)) return;
        load.setAway.push(`${agentId} at ${(now() / 1000).toFixed(1)} s (${e.data.reason ?? 'no reason'})`);
        log(`${agentId} set away (${e.data.reason ?? 'no reason'}); making itself available again`);
        void request(nc, load, 'parley.v1.agent.state', { agentId, state: 'available' }, 60_000, () => load.agentsRunning).catch((err: unknown) =>
          log(`${agentId} could not make itself available again: ${(err as Error).message}`),
        );
      },
      isRunning,
    );
    feeds.push(agentFeed, customerFeed);
    await Promise.all([agentFeed.ready, customerFeed.ready, agentEvents.ready]);
    for (const agentId of agentIds) {
      await request(nc, load, 'parley.v1.agent.login', {
        agentId,
        displayName: agentId,
        kind: 'human',
        skills: {},
        languages: ['en'],
        capabilities: [],
        capacity,
        queues: [ENTRY.queueId],
        leaseSeconds: 3_600,
      });
    }

    let customerSeq = 0;
    const customer = async () => {
      while (load.running) {
        const from = `c${++customerSeq}@customers.example.test`;
        try {
          const sub = await request(nc, load, 'parley.v1.im.subscribe', { channel: CHANNEL, from, to: ENTRY.address });
          if (sub.status !== 'available') throw new Error(`subscribe: ${String(sub.status)} ${String(sub.reason ?? '')}`);
          const sessionId = sub.sessionId as string;
          load.sessions++;
          for (let n = 1; n <= perSession && load.running; n++) {
            const body = `${sessionId}:c:${n}`;
            const echo = new Promise<void>((resolve) => {
              load.waiting.set(`${sessionId}:a:${n}`, resolve);
              // The conversation goes on even if an answer never comes: the count at the end says so.
              setTimeout(resolve, 30_000).unref();
            });
            load.sentCustomer.add(body);
            load.sentAt.set(body, now());
            const reply = await request(nc, load, 'parley.v1.im.message', { channel: CHANNEL, from, to: sub.sessionAddress, messageId: `m${n}`, body });
            if (!reply.error) load.ackedCustomer.add(body);
            else log(`customer ${from}: message ${n} of ${sessionId} refused (${reply.error.code}: ${reply.error.message})`);
            await echo;
            load.waiting.delete(`${sessionId}:a:${n}`);
          }
          // A customer still waiting when the load stops stays: leaving would abandon a queued session, whose
          // acknowledged first message then rightly reaches no agent and would be counted lost.
          if (!load.running) break;
          // A refused unsubscribe leaves the session open (and its agent's slot held until the idle timeout): said.
          const left = await request(nc, load, 'parley.v1.im.unsubscribe', { channel: CHANNEL, from, to: sub.sessionAddress });
          if (left.error) log(`customer ${from}: unsubscribe from ${sessionId} refused (${left.error.code}: ${left.error.message})`);
        } catch (err) {
          if (load.running) log(`customer: ${(err as Error).message}`);
        }
      }
    };
    const customersDone = Promise.all(Array.from({ length: customers }, customer));

    /**
     * Resolves once the load has made `count` more deliveries (it is flowing). After `timeoutMs` without them it
     * notes a stall and goes on: the figures (gaps, losses) say what a stall cost, rather than the run ending
     * without any.
     */
    const stalls: string[] = [];
    const flowing = async (count: number, what: string, timeoutMs = 60_000) => {
      const target = load.deliveries() + count;
      const deadline = Date.now() + timeoutMs;
      while (load.deliveries() < target) {
        if (Date.now() > deadline) {
          stalls.push(`no progress ${what}: ${load.deliveries() - target + count} of ${count} deliveries in ${timeoutMs / 1000} s`);
          log(stalls.at(-1)!);
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    const results: FaultFigures[] = [];
    let server: FaultFigures['server'];
    const resetServer = () => (server = undefined);
    /** Times the servers' own recovery from `from`: every stream and durable consumer led again. */
    const timeLeaders = (from: number, groups: string[]) => {
      // When each stream and durable consumer was first seen with a leader again: the slowest are named.
      const ledAt = new Map<string, number>();
      const onLed = (group: string) => {
        if (ledAt.has(group)) return;
        ledAt.set(group, now() - from);
        // The event stream first: nothing is written, so nothing offered or delivered, until it has a leader.
        if (group === 'PARLEY_EVENTS') server = { ...server, eventsLeaderMs: Math.round(now() - from) };
      };
      return cluster.waitForLeaders({ timeoutMs: 120_000, onLed, groups }).then(
        () => {
          const slowest = [...ledAt.entries()]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 3)
            .map(([g, ms]) => `${g} ${(ms / 1000).toFixed(1)} s`);
          server = { ...server, leadersMs: Math.round(now() - from), slowest };
        },
        (err: unknown) => {
          server = { ...server, leadersMissing: (err as Error).message };
        },
      );
    };
    const window = async (kind: FaultKind, label: string, run: () => Promise<string | void>) => {
      resetServer();
      // Each fault starts with the load flowing both ways (deliveries and offers), so that no fault is charged
      // with the tail of the one before (a burst of deliveries held back by the last fault is not enough).
      await flowing(progress, `before ${label}`);
      const offersBefore = load.offers;
      await waitFor(async () => load.offers >= offersBefore + 2, `offers before ${label}`, 60_000).catch(() => {
        stalls.push(`no offers before ${label} for 60 s`);
        log(stalls.at(-1)!);
      });
      notReadySeen.clear();
      log(`${label} ...`);
      const from = now();
      log(`  (${(from / 1000).toFixed(1)} s into the run)`);
      const detail = (await run()) ?? undefined;
      const recovered = now();
      await flowing(progress, `after ${label}`);
      const to = now();
      const figures: FaultFigures = {
        kind,
        label,
        seconds: Number(((to - from) / 1000).toFixed(1)),
        offerGapMs: Math.round(longestGap(load.offersAt, from, to)),
        deliveryGapMs: Math.round(longestGap(load.deliveriesAt, from, to)),
        publishedOfferGapMs: Math.round(longestGap(load.offersPublishedAt, from, to)),
        publishedDeliveryGapMs: Math.round(longestGap(load.deliveriesPublishedAt, from, to)),
        targetMs: GAP_TARGETS_MS[kind],
        notReady: [...notReadySeen].sort(),
        recoveredAfterMs: Math.round(recovered - from),
        firstOfferAfterMs: Math.round((load.offersAt.find((t) => t >= recovered) ?? to) - recovered),
        firstDeliveryAfterMs: Math.round((load.deliveriesAt.find((t) => t >= recovered) ?? to) - recovered),
        feedLagMs: Math.round(Math.max(0, ...load.feedLags.filter(([t]) => t >= from && t <= to).map(([, lag]) => lag))),
        ...(server ? { server } : {}),
        ...(detail ? { detail } : {}),
      };
      results.push(figures);
      log(
        `${label}: ${figures.seconds} s, longest gap in offers ${figures.offerGapMs} ms, in deliveries ${figures.deliveryGapMs} ms` +
          (figures.server ? `; servers: ${serverLine(figures.server)}` : '') +
          `; harness feed lag up to ${figures.feedLagMs} ms`,
      );
    };

    let baseline = { offerGapMs: 0, deliveryGapMs: 0 };
    let checks: Pick<RehearsalFigures, 'doubleAssignments' | 'doubleHolds' | 'overCapacity'> & { assignedSessions: Set<string>; agentsAtEnd: string[] } = {
      doubleAssignments: [],
      doubleHolds: [],
      overCapacity: [],
      assignedSessions: new Set(),
      agentsAtEnd: [],
    };
    try {
      await flowing(progress * 2, 'at the start');
      const b0 = now();
      await flowing(progress * 2, 'in the baseline');
      const b1 = now();
      baseline = { offerGapMs: Math.round(longestGap(load.offersAt, b0, b1)), deliveryGapMs: Math.round(longestGap(load.deliveriesAt, b0, b1)) };
      log(`baseline: longest gap in offers ${baseline.offerGapMs} ms, in deliveries ${baseline.deliveryGapMs} ms`);

      for (const kind of faults) {
        if (kind === 'node-loss') {
          await window(kind, 'NATS node killed (SIGKILL) and brought back', async () => {
            // The worst node to lose: the one leading the event stream (and, as it happens, others).
            const [events] = await cluster.placements(['PARLEY_EVENTS']);
            const victim = cluster.nodes.findIndex((n) => n.name === events?.leader);
            const led = (await cluster.placements()).filter((p) => p.leader === events?.leader).map((p) => p.stream);
            const groups = await cluster.raftGroups();
            const killedAt = now();
            await cluster.kill(victim);
            // Timed beside the load, not in its way: a consumer left without a leader until the node is back is
            // then counted to the node's return.
            const leaders = timeLeaders(killedAt, groups);
            await cluster.waitForStreams();
            await flowing(outage, 'with a NATS node down');
            await cluster.start(victim);
            await cluster.waitForStreams({ current: true });
            server = { ...server, currentMs: Math.round(now() - killedAt) };
            await leaders;
            return `${cluster.nodes[victim]!.name}, leader of ${led.length} streams (${led.join(', ')})`;
          });
        } else if (kind === 'cluster-restart') {
          await window(kind, 'whole nats-server cluster restarted', async () => {
            const groups = await cluster.raftGroups();
            const stoppedAt = now();
            await cluster.restartAll();
            server = { metaLeaderMs: Math.round(now() - stoppedAt) };
            await timeLeaders(stoppedAt, groups);
            await cluster.waitForStreams({ current: true, timeoutMs: 60_000 });
            server = { ...server, currentMs: Math.round(now() - stoppedAt) };
          });
        } else if (kind === 'rolling-restart') {
          await window(kind, 'every service rolled, one instance at a time (SIGTERM)', async () => {
            for (const service of faultServices.filter((s) => instances.has(s))) {
              for (const old of [...instances.get(service)!]) {
                if (service === 'gateway-xmpp') {
                  // Recreate, as its Deployment does: the replacement is a standby until the connection is free.
                  await launch(service, 'live');
                  await old.handle.stop();
                  retire(old);
                  await waitFor(xmppActive, 'a gateway-xmpp instance to take the component connection', 60_000);
                } else {
                  await launch(service);
                  await old.handle.stop();
                  retire(old);
                }
                log(`  rolled ${old.name}`);
              }
            }
          });
        } else if (kind === 'instance-kill') {
          await window(kind, 'one instance of every service killed (SIGKILL) and replaced', async () => {
            for (const service of faultServices.filter((s) => instances.has(s))) {
              const list = instances.get(service)!;
              // The instance doing the work where only one does: the connected gateway-xmpp, else the oldest.
              const victim = service === 'gateway-xmpp' ? ((await Promise.all(list.map(async (i) => ((await readyOf(i)) ? i : undefined)))).find(Boolean) ?? list[0]!) : list[0]!;
              await victim.handle.kill();
              retire(victim);
              await launch(service, service === 'gateway-xmpp' ? 'live' : 'ready');
              if (service === 'gateway-xmpp') await waitFor(xmppActive, 'a gateway-xmpp instance to take the component connection', 60_000);
              log(`  killed ${victim.name}`);
            }
          });
        }
      }
    } finally {
      load.running = false;
      for (const resolve of load.waiting.values()) resolve();
    }
    await customersDone;
    // Let every acknowledged message arrive: a condition (all delivered), bounded.
    const acked = () => [...load.ackedCustomer].filter((b) => !load.atAgents.has(b)).length + [...load.ackedAgent].filter((b) => !load.atCustomers.has(b)).length;
    // Longer than twice an offer's timeout (OFFER_TIMEOUT_SECONDS, 30 s): a router killed between its two writes of
    // an offer (the agent's capacity reserved, the session's offer not yet written) leaves the reservation holding
    // the agent's slot until the router's sweep releases it, 30 s past its expiry, so 60 s after it was made. A run
    // ended with one session queued and never offered through a 45 s drain: 16 customers waiting, 15 slots free,
    // the 16th held by the killed router's reservation (docs/benchmarks.md).
    // Replies still being sent count too: one acknowledged just after the check would be counted lost (a run was
    // failed so, a reply acknowledged 0.1 s before the end and its delivery not yet read).
    await waitFor(async () => acked() === 0 && load.repliesInFlight === 0, 'every acknowledged message delivered', 75_000).catch(() => undefined);
    load.agentsRunning = false;
    clearInterval(sampler);
    agentFeed.stop();
    customerFeed.stop();
    agentEvents.stop();
    witness.unsubscribe();

    checks = await checkEvents(nc, capacity);
    const lostCustomer = [...load.ackedCustomer].filter((b) => !load.atAgents.has(b)).slice(0, 3);
    // A message not delivered: the agents as the events leave them say whether anyone could have taken its session.
    if (lostCustomer.length > 0) for (const line of checks.agentsAtEnd) log(`at the end, ${line}`);
    for (const body of lostCustomer) {
      // Bounded: the explanation must not cost the run its figures.
      const explained = await Promise.race([explainLost(nc, body), new Promise<string>((r) => setTimeout(() => r('not explained within 10 s'), 10_000).unref())]);
      log(`lost ${body}: ${explained}`);
    }
    const notReadyAtEnd: string[] = [];
    for (const [service, list] of instances) {
      if (service === 'gateway-xmpp') {
        if (!(await xmppActive())) notReadyAtEnd.push('gateway-xmpp (no instance connected)');
        continue;
      }
      for (const i of list) if (!(await readyOf(i))) notReadyAtEnd.push(i.name);
    }
    const assignedOf = (body: string) => checks.assignedSessions.has(body.split(':')[0]!);
    const at = (body: string) => `${body} (sent at ${((load.sentAt.get(body) ?? 0) / 1000).toFixed(1)} s)`;
    const count = (sent: Set<string>, ackedSet: Set<string>, delivered: Map<string, Set<string>>, counts: Map<string, number>) => ({
      sent: sent.size,
      acknowledged: ackedSet.size,
      delivered: [...sent].filter((b) => delivered.has(b)).length,
      lost: [...ackedSet].filter((b) => !delivered.has(b) && assignedOf(b)).length,
      lostSample: [...ackedSet]
        .filter((b) => !delivered.has(b) && assignedOf(b))
        .slice(0, 5)
        .map(at),
      awaitingAssignment: [...ackedSet]
        .filter((b) => !delivered.has(b) && !assignedOf(b))
        .slice(0, 5)
        .map(at),
      duplicated: [...delivered.values()].filter((ids) => ids.size > 1).length,
      redelivered: [...counts.entries()].filter(([b, c]) => c > (delivered.get(b)?.size ?? 0)).length,
    });
    const figures: RehearsalFigures = {
      seconds: Number((now() / 1000).toFixed(1)),
      sessions: load.sessions,
      offers: load.offers,
      customerMessages: count(load.sentCustomer, load.ackedCustomer, load.atAgents, load.atAgentsCount),
      agentMessages: count(load.sentAgent, load.ackedAgent, load.atCustomers, load.atCustomersCount),
      baseline,
      faults: results,
      doubleAssignments: checks.doubleAssignments,
      doubleHolds: checks.doubleHolds,
      overCapacity: checks.overCapacity,
      notReadyAtEnd,
      xmpp: prosody ? 'active/standby' : (options.services ?? REHEARSAL_SERVICES).includes('gateway-xmpp') ? 'not run (prosody missing)' : 'not run',
      requestRetries: load.retries,
      stalls,
      agentsSetAway: load.setAway,
    };

    return figures;
  } finally {
    await connection?.close().catch(() => undefined);
    await Promise.all([...instances.values()].flat().map((i) => i.handle.stop()));
    await prosody?.stop();
    await cluster.stop();
  }
}

async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Reads every event Parley wrote and checks what no fault may break: a session assigned once, held by one agent
 * at a time, and no agent holding more conversations than its capacity.
 */
/** Every message of `stream` on `subject` stored so far (an ordered consumer up to the stream's end now). */
async function storedOn(nc: NatsConnection, stream: string, subject: string): Promise<JsMsg[]> {
  const info = (await nc.request(`$JS.API.STREAM.INFO.${stream}`, '', { timeout: 5_000 })).json<{ state: { last_seq: number } }>();
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
  const pending = (await consumer.info(true)).num_pending;
  const found: JsMsg[] = [];
  if (pending === 0) return found;
  const messages = await consumer.consume({ max_messages: 2_000 });
  for await (const m of messages) {
    found.push(m);
    if (m.seq >= info.state.last_seq || m.info.pending === 0) break;
  }
  messages.stop();
  return found;
}

/**
 * Where a message counted lost went: whether PARLEY_DELIVERIES holds its delivery (then the harness's own feed
 * missed it) and its session's events in order (then Parley's handling of them says why it was not delivered).
 */
async function explainLost(nc: NatsConnection, body: string): Promise<string> {
  try {
    const sessionId = body.split(':')[0]!;
    const deliveries = await storedOn(nc, 'PARLEY_DELIVERIES', 'parley.v1.agent.deliver.>');
    const stored = deliveries.some((m) => m.json<{ body?: string }>().body === body);
    const events = await storedOn(nc, 'PARLEY_EVENTS', `parley.v1.evt.session.${sessionId}`);
    const types = events.map((m) => {
      const e = m.json<{ type: string; data: { body?: string } }>();
      return e.type === 'CustomerMessageReceived' || e.type === 'AgentMessageSent' ? `${e.type}(${e.data.body})` : e.type;
    });
    return `delivery stored: ${stored ? 'yes (the harness feed missed it)' : 'no'}; session events: ${types.join(', ')}`;
  } catch (err) {
    return `not explained: ${(err as Error).message}`;
  }
}

async function checkEvents(
  nc: NatsConnection,
  capacity: number,
): Promise<Pick<RehearsalFigures, 'doubleAssignments' | 'doubleHolds' | 'overCapacity'> & { assignedSessions: Set<string>; agentsAtEnd: string[] }> {
  const js = jetstream(nc);
  const info = (await nc.request('$JS.API.STREAM.INFO.PARLEY_EVENTS', '', { timeout: 5_000 })).json<{ state: { last_seq: number } }>();
  const assigned = new Map<string, number>();
  const holders = new Map<string, Set<string>>();
  const talking = new Map<string, Set<string>>();
  const doubleHolds = new Set<string>();
  const overCapacity = new Set<string>();
  // Each agent at the end, to say why a session was left waiting: its state, its open reservations, its conversations.
  const agentState = new Map<string, string>();
  const reservations = new Map<string, Map<string, string>>();
  const sessionState = new Map<string, string>();
  const consumer = await js.consumers.get('PARLEY_EVENTS', { filter_subjects: 'parley.v1.evt.>', deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume({ max_messages: 2_000 });
  for await (const m of messages) {
    const [, , , aggregate, id] = m.subject.split('.');
    const e = m.json<{ type: string; data: { sessionId?: string; offerId?: string; state?: string; reason?: string | null; expiresAt?: string; wrapUpUntil?: string | null } }>();
    if (aggregate === 'session' && e.type === 'SessionAssigned') assigned.set(id!, (assigned.get(id!) ?? 0) + 1);
    if (aggregate === 'session') sessionState.set(id!, e.type);
    if (aggregate === 'agent') {
      const open = reservations.get(id!) ?? new Map<string, string>();
      reservations.set(id!, open);
      if (e.type === 'AgentStateChanged') agentState.set(id!, `${e.data.state}${e.data.reason ? ` (${e.data.reason})` : ''}`);
      else if (e.type === 'AgentLoggedIn') agentState.set(id!, 'available');
      else if (e.type === 'AgentLoggedOut') agentState.set(id!, `logged out (${e.data.reason ?? ''})`);
      else if (e.type === 'AgentOfferReserved') open.set(e.data.offerId!, `${e.data.sessionId} until ${e.data.expiresAt?.slice(11, 19)}`);
      else if (e.type === 'AgentOfferReleased') open.delete(e.data.offerId!);
      else if (e.type === 'AgentConversationStarted') {
        // As the agent's own fold does: the accepted offer's reservation and any other of the same session.
        open.delete(e.data.offerId!);
        for (const [offerId, r] of open) if (r.startsWith(`${e.data.sessionId} `)) open.delete(offerId);
      } else if (e.type === 'AgentConversationEnded' && e.data.wrapUpUntil) agentState.set(id!, `${agentState.get(id!) ?? '?'}, wrap-up until ${e.data.wrapUpUntil.slice(11, 19)}`);
    }
    if (aggregate === 'agent' && (e.type === 'AgentConversationStarted' || e.type === 'AgentConversationEnded')) {
      const sessionId = e.data.sessionId!;
      const mine = talking.get(id!) ?? new Set<string>();
      const held = holders.get(sessionId) ?? new Set<string>();
      if (e.type === 'AgentConversationStarted') {
        mine.add(sessionId);
        held.add(id!);
      } else {
        mine.delete(sessionId);
        held.delete(id!);
      }
      talking.set(id!, mine);
      holders.set(sessionId, held);
      if (held.size > 1) doubleHolds.add(sessionId);
      if (mine.size > capacity) overCapacity.add(id!);
    }
    if (m.seq >= info.state.last_seq) break;
  }
  return {
    doubleAssignments: [...assigned.entries()].filter(([, n]) => n > 1).map(([s]) => s),
    doubleHolds: [...doubleHolds],
    overCapacity: [...overCapacity],
    assignedSessions: new Set(assigned.keys()),
    agentsAtEnd: [...agentState.keys()].sort().map((agentId) => {
      const talkingTo = [...(talking.get(agentId) ?? [])].map((s) => `${s.slice(0, 8)} (${sessionState.get(s) ?? '?'})`);
      const open = [...(reservations.get(agentId)?.values() ?? [])].map((r) => `${r.slice(0, 8)}${r.slice(r.indexOf(' '))}`);
      return `${agentId}: ${agentState.get(agentId)}; conversations: ${talkingTo.join(', ') || 'none'}; reservations: ${open.join(', ') || 'none'}`;
    }),
  };
}

/** The servers' own recovery, as printed beside a fault's gaps. */
function serverLine(x: NonNullable<FaultFigures['server']>): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return [
    x.metaLeaderMs !== undefined ? `meta leader after ${s(x.metaLeaderMs)}` : undefined,
    x.eventsLeaderMs !== undefined ? `PARLEY_EVENTS led after ${s(x.eventsLeaderMs)}` : undefined,
    x.leadersMs !== undefined
      ? `every stream and durable consumer led after ${s(x.leadersMs)}${x.slowest?.length ? ` (last: ${x.slowest.join(', ')})` : ''}`
      : `not every stream and durable consumer led (${x.leadersMissing ?? '?'})`,
    x.currentMs !== undefined ? `all replicas current after ${s(x.currentMs)}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
}

/** The figures as `npm run rehearsal` prints them. */
export function formatRehearsalFigures(f: RehearsalFigures): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const msg = (label: string, m: RehearsalFigures['customerMessages']) =>
    `${label}: sent ${m.sent}, acknowledged ${m.acknowledged}, delivered ${m.delivered}, lost ${m.lost}, duplicated ${m.duplicated} (same delivery ID again: ${m.redelivered})${m.lost ? `; lost e.g. ${m.lostSample.join(', ')}` : ''}${m.awaitingAssignment.length ? `; stored for a session never assigned by the end: ${m.awaitingAssignment.join(', ')}` : ''}`;
  const lines = [
    `rehearsal: ${f.seconds} s, ${f.sessions} sessions, ${f.offers} offers, ${f.requestRetries} request retries; gateway-xmpp ${f.xmpp}`,
    msg('customer -> agent messages', f.customerMessages),
    msg('agent -> customer messages', f.agentMessages),
    `no fault (baseline): longest gap in offers ${s(f.baseline.offerGapMs)}, in deliveries ${s(f.baseline.deliveryGapMs)}`,
    ...f.faults.map(
      (x) =>
        `${x.label}: ${x.seconds} s; longest gap in offers ${s(x.offerGapMs)}, in deliveries ${s(x.deliveryGapMs)}` +
        ` (as published: ${s(x.publishedOfferGapMs)}, ${s(x.publishedDeliveryGapMs)})` +
        (x.targetMs ? ` (target < ${s(x.targetMs)}: ${Math.max(x.offerGapMs, x.deliveryGapMs) < x.targetMs ? 'met' : 'MISSED'})` : ' (no target)') +
        `; over after ${s(x.recoveredAfterMs)}, then first offer ${s(x.firstOfferAfterMs)}, first delivery ${s(x.firstDeliveryAfterMs)}` +
        (x.server ? `; servers: ${serverLine(x.server)}` : '') +
        `; harness feed lag up to ${s(x.feedLagMs)}` +
        `; not ready meanwhile: ${x.notReady.length ? x.notReady.join(', ') : 'none'}` +
        (x.detail ? `; ${x.detail}` : ''),
    ),
    `sessions assigned twice: ${f.doubleAssignments.length}; sessions held by two agents at once: ${f.doubleHolds.length}; agents over capacity: ${f.overCapacity.length}`,
    `service instances not ready at the end: ${f.notReadyAtEnd.length ? f.notReadyAtEnd.join(', ') : 'none'}`,
    `stalls (60 s without deliveries): ${f.stalls.length ? f.stalls.join('; ') : 'none'}`,
    `agents set away by Parley (each made available again): ${f.agentsSetAway.length ? f.agentsSetAway.join(', ') : 'none'}`,
  ];
  return `${lines.join('\n')}\n`;
}

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, type NatsConnection, connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { findExecutable } from './executable.js';
import { freePort, waitForPort } from './free-port.js';
import { NATS_SERVER_MISSING, writeNatsConfig } from './nats-server.launcher.js';
import { PARLEY_NATS_USERS, serviceInboxPrefix } from './nats-auth.js';

export interface NatsClusterOptions {
  /** Nodes in the cluster (3 tolerates the loss of one). */
  size?: number;
  /** Where the users' nkey seeds, configurations and logs live; a temp dir removed at stop when absent. */
  dir?: string;
}

export interface NatsNode {
  readonly index: number;
  readonly name: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  readonly logFile: string;
  readonly running: boolean;
}

/** One stream's (or KV bucket's) place in the cluster, from `$JS.API.STREAM.INFO`. */
export interface StreamPlacement {
  stream: string;
  leader?: string;
  replicas: { name: string; current: boolean; offline?: boolean }[];
}

export interface NatsClusterHandle {
  readonly nodes: readonly NatsNode[];
  /** Every node's client URL, comma-separated, as NATS_URL takes them. */
  readonly url: string;
  readonly dir: string;
  /** SIGKILL one node (a crash: no lame duck, no flush); its store stays for `start`. */
  kill(node: number): Promise<void>;
  /** SIGTERM one node and wait for it to exit. */
  stopNode(node: number): Promise<void>;
  /** Starts a stopped node on its ports and store; resolves once it accepts clients and says it is healthy. */
  start(node: number): Promise<void>;
  /** Stops every node (SIGTERM, all at once), starts them again and waits for a JetStream meta leader. */
  restartAll(): Promise<void>;
  /** Resolves once the running nodes agree on a JetStream meta leader (the JetStream API answers). */
  waitForMetaLeader(timeoutMs?: number): Promise<string>;
  /**
   * Resolves once every stream (every stream there is when `streams` is absent) has a leader and, with `current`,
   * every replica on a running node is current: a node brought back has caught up.
   */
  waitForStreams(options?: { streams?: string[]; current?: boolean; timeoutMs?: number }): Promise<StreamPlacement[]>;
  /** Where each stream is now (leader and replicas), as the JetStream API says. */
  placements(streams?: string[]): Promise<StreamPlacement[]>;
  /**
   * Resolves once every stream and every durable consumer has a leader (the JetStream API answers for each): the
   * servers' own recovery after a fault, whatever their clients do. Ephemeral consumers (ordered ones, re-created
   * by their clients) are not waited for. Rejects naming those still without one after `timeoutMs`.
   */
  waitForLeaders(options?: { timeoutMs?: number; onLed?: (group: string) => void; groups?: string[] }): Promise<void>;
  /**
   * The streams and durable consumers (`<stream>/<name>`) there are now: ask while every node is up, and give them
   * to waitForLeaders after a fault (an ephemeral consumer left on a lost node is listed but never answers again).
   */
  raftGroups(): Promise<string[]>;
  connectOptions(user: string, extra?: Partial<ConnectionOptions>): ConnectionOptions;
  /** The environment a Parley service connects to the cluster with, as `user`. */
  serviceEnv(user: string): Record<string, string>;
  /** Stops every node and removes what the launcher created. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Polls `probe` until it returns a value, backing off to 200 ms; throws with the last problem after `timeoutMs`. */
async function poll<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number, firstDelayMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = firstDelayMs;
  let last = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = `: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    // Back-off between polls of a condition, not a fixed wait for it.
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}

/**
 * A cluster of nats-server nodes with JetStream on loopback, each with its own ports and store, and the same
 * users and permissions as every other launcher (infra/nats, nkeys, unauthenticated clients refused). For
 * rehearsing what a Kubernetes cluster does to Parley: lose a node, restart them all.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsClusterHandle> {
  const bin = process.env.NATS_SERVER_BIN ?? findExecutable('nats-server');
  if (!bin) throw new Error(NATS_SERVER_MISSING);
  const size = options.size ?? 3;
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'parley-nats-cluster-'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ port: await freePort(), clusterPort: await freePort(), monitorPort: await freePort() })));

  interface NodeState extends NatsNode {
    child?: ChildProcess;
    configFile: string;
    env: Record<string, string>;
    stderr: string;
  }
  const nodes: NodeState[] = ports.map((p, index) => {
    const name = `n${index + 1}`;
    const storeDir = join(dir, `${name}-store`);
    const { configFile, env } = writeNatsConfig({
      dir,
      port: p.port,
      monitorPort: p.monitorPort,
      storeDir,
      unauthenticated: 'refused',
      node: { serverName: name, fileName: `nats-${name}`, cluster: { name: 'parley', port: p.clusterPort, routes: ports.filter((_, i) => i !== index).map((o) => o.clusterPort) } },
    });
    return {
      index,
      name,
      ...p,
      storeDir,
      logFile: join(dir, `nats-${name}.log`),
      configFile,
      env,
      stderr: '',
      get running() {
        return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
      },
    };
  });
  const url = nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(',');

  const credentials = (user: string) => {
    if (!(PARLEY_NATS_USERS as readonly string[]).includes(user)) throw new Error(`no NATS user ${user} on this cluster`);
    return { seedFile: join(dir, `${user}.nk`), inboxPrefix: serviceInboxPrefix(user) };
  };
  const connectOptions = (user: string, extra: Partial<ConnectionOptions> = {}): ConnectionOptions => ({
    servers: nodes.map((n) => `127.0.0.1:${n.port}`),
    authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(credentials(user).seedFile, 'utf8').trim())),
    inboxPrefix: credentials(user).inboxPrefix,
    ...extra,
  });

  /** Whether a node says it is healthy (JetStream current with the meta group and its streams): `/healthz`. */
  const healthy = async (node: NodeState) => {
    const res = await fetch(`http://127.0.0.1:${node.monitorPort}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return res.status === 200;
  };

  const spawnNode = async (node: NodeState) => {
    if (node.running) return;
    const proc = spawn(bin, ['-c', node.configFile], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...node.env } });
    node.child = proc;
    live.add(proc);
    proc.stderr?.on('data', (d) => (node.stderr = (node.stderr + d.toString()).slice(-4_000)));
    proc.once('exit', () => live.delete(proc));
    try {
      await waitForPort(node.port, { ready: (banner) => banner.startsWith('INFO '), isAlive: () => node.running });
    } catch (err) {
      proc.kill('SIGKILL');
      throw new Error(`nats-server ${node.name} did not start on 127.0.0.1:${node.port}: ${(err as Error).message}\n${node.stderr}`);
    }
  };

  const halt = async (node: NodeState, signal: 'SIGTERM' | 'SIGKILL') => {
    const proc = node.child;
    if (!proc || !node.running) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  // One admin connection for the launcher's own questions; it reconnects across every fault it is asked to make.
  let admin: NatsConnection | undefined;
  const adminConnection = async () => {
    admin ??= await connect(connectOptions('admin', { name: 'nats-cluster-launcher', maxReconnectAttempts: -1, reconnectTimeWait: 100 }));
    return admin;
  };
  const api = async <T>(subject: string, body = ''): Promise<T> => {
    const reply = (await (await adminConnection()).request(subject, body, { timeout: 2_000 })).json<T & { error?: { description: string } }>();
    if (reply.error) throw new Error(`${subject}: ${reply.error.description}`);
    return reply;
  };

  const placements = async (streams?: string[]): Promise<StreamPlacement[]> => {
    const names = streams ?? (await api<{ streams: string[] | null }>('$JS.API.STREAM.NAMES')).streams ?? [];
    return Promise.all(
      names.map(async (stream) => {
        try {
          const info = await api<{ cluster?: { leader?: string; replicas?: { name: string; current: boolean; offline?: boolean }[] } }>(`$JS.API.STREAM.INFO.${stream}`);
          return { stream, leader: info.cluster?.leader, replicas: info.cluster?.replicas ?? [] };
        } catch {
          // No answer: the stream has no leader now (its replicas are electing one, or all of them are down).
          return { stream, replicas: [] };
        }
      }),
    );
  };

  const waitForMetaLeader = (timeoutMs = 30_000) =>
    poll(
      async () => {
        const running = nodes.filter((n) => n.running);
        const leaders = await Promise.all(
          running.map(async (n) => {
            const jsz = (await (await fetch(`http://127.0.0.1:${n.monitorPort}/jsz`, { signal: AbortSignal.timeout(2_000) })).json()) as { meta_cluster?: { leader?: string } };
            return jsz.meta_cluster?.leader;
          }),
        );
        const leader = leaders[0];
        if (!leader || leaders.some((l) => l !== leader)) return undefined;
        // The meta leader answers the JetStream API, so Parley's services can create streams and consumers.
        await api('$JS.API.INFO');
        return leader;
      },
      'a JetStream meta leader all running nodes agree on',
      timeoutMs,
    );

  const waitForStreams = ({ streams, current = false, timeoutMs = 30_000 }: { streams?: string[]; current?: boolean; timeoutMs?: number } = {}) =>
    poll(
      async () => {
        const found = await placements(streams);
        const up = new Set(nodes.filter((n) => n.running).map((n) => n.name));
        const waiting = found.filter((p) => !p.leader || (current && !p.replicas.filter((r) => up.has(r.name)).every((r) => r.current && !r.offline)));
        if (waiting.length > 0) throw new Error(`still waiting for ${waiting.map((p) => p.stream).join(', ')}`);
        return found;
      },
      `a leader${current ? ' and current replicas' : ''} for ${streams?.join(', ') ?? 'every stream'}`,
      timeoutMs,
    );

  const durableConsumers = async (): Promise<string[]> => {
    const found: string[] = [];
    for (const { stream } of await placements()) {
      const names = (await api<{ consumers: string[] | null }>(`$JS.API.CONSUMER.NAMES.${stream}`)).consumers ?? [];
      for (const name of names) {
        const info = await api<{ config: { durable_name?: string } }>(`$JS.API.CONSUMER.INFO.${stream}.${name}`).catch(() => undefined);
        if (info?.config.durable_name) found.push(`${stream}/${name}`);
      }
    }
    return found;
  };

  /**
   * Each group (stream, or durable consumer `<stream>/<name>`) asked on its own until it answers with a leader:
   * every 100 ms, each ask waiting at most 1 s, so that the time a group got its leader is known to within about a
   * second whatever the others do (one slow group held up a whole round of asks).
   */
  const waitForLeaders = async ({ timeoutMs = 60_000, onLed, groups: asked }: { timeoutMs?: number; onLed?: (group: string) => void; groups?: string[] } = {}): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    const groups = asked ?? [...(await placements()).map((p) => p.stream), ...(await durableConsumers())];
    const led = async (group: string): Promise<boolean> => {
      const [stream, consumer] = group.split('/');
      const subject = consumer ? `$JS.API.CONSUMER.INFO.${stream}.${consumer}` : `$JS.API.STREAM.INFO.${stream}`;
      try {
        const reply = (await (await adminConnection()).request(subject, '', { timeout: 1_000 })).json<{ cluster?: { leader?: string }; error?: unknown }>();
        return !reply.error && !!reply.cluster?.leader;
      } catch {
        return false;
      }
    };
    const missing = new Set(groups);
    await Promise.all(
      groups.map(async (group) => {
        while (Date.now() < deadline) {
          if (await led(group)) {
            missing.delete(group);
            onLed?.(group);
            return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }),
    );
    if (missing.size > 0) throw new Error(`timed out after ${timeoutMs} ms waiting for a leader: ${[...missing].join(', ')}`);
  };

  const start = async (index: number) => {
    const node = nodes[index]!;
    await spawnNode(node);
    await poll(async () => ((await healthy(node)) ? true : undefined), `nats-server ${node.name} healthy (/healthz)`, 30_000);
  };

  try {
    await Promise.all(nodes.map(spawnNode));
    await waitForMetaLeader();
  } catch (err) {
    await Promise.all(nodes.map((n) => halt(n, 'SIGKILL')));
    throw err;
  }

  return {
    nodes,
    url,
    dir,
    kill: (index) => halt(nodes[index]!, 'SIGKILL'),
    stopNode: (index) => halt(nodes[index]!, 'SIGTERM'),
    start,
    async restartAll() {
      await Promise.all(nodes.map((n) => halt(n, 'SIGTERM')));
      await Promise.all(nodes.map(spawnNode));
      await waitForMetaLeader();
    },
    waitForMetaLeader,
    waitForStreams,
    waitForLeaders,
    raftGroups: async () => [...(await placements()).map((p) => p.stream), ...(await durableConsumers())],
    placements,
    connectOptions,
    serviceEnv: (user) => ({ NATS_URL: url, NATS_NKEY_SEED_FILE: credentials(user).seedFile }),
    async stop() {
      await admin?.close().catch(() => undefined);
      await Promise.all(nodes.map((n) => halt(n, 'SIGTERM')));
      // PARLEY_KEEP_NATS_LOG=1 keeps the configurations and the servers' logs for a look after a run.
      if (ownsDir && !process.env.PARLEY_KEEP_NATS_LOG) rmSync(dir, { recursive: true, force: true });
    },
  };
}

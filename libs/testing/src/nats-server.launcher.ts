import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, nkeyAuthenticator } from '@nats-io/transport-node';
import { findExecutable } from './executable.js';
import { freePort, waitForPort } from './free-port.js';
import { PARLEY_NATS_USERS, ROLE_TEMPLATES, type RoleUser, ensureNkey, instantiateTemplate, nkeyVariable, serviceInboxPrefix, usersConfig } from './nats-auth.js';

export const NATS_SERVER_MISSING =
  'nats-server is not installed. On Debian or Ubuntu run: sudo apt-get update && sudo apt-get install -y nats-server ' + '(or put a nats-server 2.9+ binary on PATH, or set NATS_SERVER_BIN).';

/** TLS files for nats-server; clients then need the CA (and, with verify, a certificate of their own). */
export interface NatsTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Ask every client for a certificate signed by the CA. */
  verify?: boolean;
  /** A client certificate and key the handle hands out with connect options (required with verify). */
  clientCertFile?: string;
  clientKeyFile?: string;
}

export interface NatsServerOptions {
  storeDir?: string;
  port?: number;
  monitor?: boolean;
  /** Where the users' nkey seeds live (kept); a temp dir removed at stop when absent. */
  keyDir?: string;
  /** Integrator users made from infra/nats/templates, as an operator adds them to users.conf. */
  roles?: RoleUser[];
  /**
   * What a client that presents no credentials is: refused (production, and every suite that plays a role), or the
   * operators' admin (for suites that test storage, not authorization, and connect without credentials: the
   * event store's contract suite, the store benchmark). Default `admin` until those connect as a user; the stack
   * (e2e/src/parley-stack.ts), the start command and every role suite run with `refused`.
   */
  unauthenticated?: 'refused' | 'admin';
  tls?: NatsTlsFiles;
}

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** HTTP monitoring port (`/subsz`, `/healthz`), when asked for. */
  readonly monitorPort?: number;
  /** Stops the server but keeps its store, so `start` brings the same data back on the same port. */
  pause(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes the store it created. */
  stop(): Promise<void>;
  /** The seed file and inbox prefix of a Parley user or of a role user given in `roles`. */
  credentials(user: string): { seedFile: string; inboxPrefix: string };
  /** nats-server's log (permission violations, refused logins). */
  readonly logFile: string;
  /** The running server's process ID (benchmarks read its CPU time), undefined while stopped. */
  readonly pid: number | undefined;
  /** Options to connect as `user` (nkey, its own inbox prefix, TLS when on). */
  connectOptions(user: string, extra?: Partial<ConnectionOptions>): ConnectionOptions;
  /** The environment a Parley service runs with to connect as `user` (NATS_URL, seed file, TLS files). */
  serviceEnv(user: string): Record<string, string>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Starts a real nats-server with JetStream on a free loopback port and a temp store dir, and resolves once it
 * accepts clients. Every integration and end-to-end suite uses this; nothing is mocked.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const bin = process.env.NATS_SERVER_BIN ?? findExecutable('nats-server');
  if (!bin) throw new Error(NATS_SERVER_MISSING);
  const ownsStore = options.storeDir === undefined;
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'parley-nats-'));
  const ownsKeys = options.keyDir === undefined;
  const keyDir = options.keyDir ?? mkdtempSync(join(tmpdir(), 'parley-nats-keys-'));
  const port = options.port ?? (await freePort());
  const monitorPort = options.monitor ? await freePort() : undefined;
  const roles = options.roles ?? [];
  const { configFile, env, inboxes } = writeNatsConfig({ dir: keyDir, port, storeDir, monitorPort, roles, unauthenticated: options.unauthenticated ?? 'admin', tls: options.tls });
  let child: ChildProcess | undefined;
  let stderr = '';
  const scheme = options.tls ? 'tls' : 'nats';

  const start = async () => {
    const proc = spawn(bin, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    child = proc;
    live.add(proc);
    proc.stderr?.on('data', (d) => (stderr = (stderr + d.toString()).slice(-4_000)));
    proc.once('exit', () => live.delete(proc));
    try {
      await waitForPort(port, { ready: (banner) => banner.startsWith('INFO '), isAlive: () => proc.exitCode === null && proc.signalCode === null });
    } catch (err) {
      proc.kill('SIGKILL');
      throw new Error(`nats-server did not start on 127.0.0.1:${port}: ${(err as Error).message}\n${stderr}`);
    }
  };

  const halt = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  const credentials = (user: string) => {
    const inboxPrefix = inboxes.get(user);
    if (!inboxPrefix) throw new Error(`no NATS user ${user} on this server`);
    return { seedFile: join(keyDir, `${user}.nk`), inboxPrefix };
  };
  const tlsClient = options.tls ? { caFile: options.tls.caFile, ...(options.tls.clientCertFile ? { certFile: options.tls.clientCertFile, keyFile: options.tls.clientKeyFile } : {}) } : undefined;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    logFile: join(keyDir, 'nats-server.log'),
    credentials,
    connectOptions: (user, extra = {}) => {
      const c = credentials(user);
      return {
        servers: `${scheme}://127.0.0.1:${port}`,
        authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(c.seedFile, 'utf8').trim())),
        inboxPrefix: c.inboxPrefix,
        ...(tlsClient ? { tls: tlsClient } : {}),
        ...extra,
      };
    },
    serviceEnv: (user) => ({
      NATS_URL: `${scheme}://127.0.0.1:${port}`,
      NATS_NKEY_SEED_FILE: credentials(user).seedFile,
      ...(tlsClient ? { NATS_TLS_CA_FILE: tlsClient.caFile } : {}),
      ...(tlsClient?.certFile ? { NATS_TLS_CERT_FILE: tlsClient.certFile, NATS_TLS_KEY_FILE: tlsClient.keyFile! } : {}),
    }),
    port,
    storeDir,
    monitorPort,
    get pid() {
      return child?.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    pause: halt,
    start,
    stop: async () => {
      await halt();
      if (ownsStore) rmSync(storeDir, { recursive: true, force: true });
      // PARLEY_KEEP_NATS_LOG=1 keeps the generated configuration and the server log (refusals) for a look after a run.
      if (ownsKeys && !process.env.PARLEY_KEEP_NATS_LOG) rmSync(keyDir, { recursive: true, force: true });
    },
  };
}

/**
 * The nats-server configuration Parley runs with everywhere: the repository's permissions.conf and users.conf
 * (plus any integrator users made from its templates), on loopback, with JetStream in `storeDir`. Makes every
 * user's nkey in `dir` (kept when it exists) and returns the environment nats-server needs (public keys only).
 */
export function writeNatsConfig(o: {
  dir: string;
  port: number;
  storeDir: string;
  monitorPort?: number;
  host?: string;
  roles?: RoleUser[];
  unauthenticated?: 'refused' | 'admin';
  tls?: NatsTlsFiles;
  /** Log to `<dir>/nats-server.log` (tests) rather than to stderr (the start command keeps its own log). */
  logFile?: boolean;
  /** A clustered node (nats-cluster.launcher.ts): its name, its config and log file names, its routes. */
  node?: { serverName: string; fileName: string; cluster: { name: string; port: number; routes: number[] } };
}): { configFile: string; env: Record<string, string>; inboxes: Map<string, string> } {
  const env: Record<string, string> = {};
  const inboxes = new Map<string, string>();
  for (const user of PARLEY_NATS_USERS) {
    env[nkeyVariable(user)] = ensureNkey(o.dir, user).publicKey;
    inboxes.set(user, serviceInboxPrefix(user));
  }
  const roles = o.roles ?? [];
  for (const role of roles) {
    if (!/^[A-Za-z0-9_]{1,64}$/.test(role.name) || inboxes.has(role.name)) throw new Error(`bad or duplicate role user name ${role.name}`);
    env[nkeyVariable(role.name)] = ensureNkey(o.dir, role.name).publicKey;
    inboxes.set(role.name, ROLE_TEMPLATES[role.template].inbox(role.values));
  }
  const extra: string[] = [];
  if (o.unauthenticated === 'admin') extra.push(`    { user: "unauthenticated-admin", password: "${randomBytes(24).toString('hex')}", permissions: $ADMIN }`);
  const usersFile = join(o.dir, 'users.conf');
  writeFileSync(usersFile, usersConfig(o.dir, roles, extra), { mode: 0o600 });
  const rolesFile = join(o.dir, 'roles.conf');
  writeFileSync(rolesFile, roles.map(instantiateTemplate).join('\n'), { mode: 0o600 });
  const quote = (p: string) => JSON.stringify(p);
  const config = [
    "# Generated by Parley (libs/testing/src/nats-server.launcher.ts) around the repository's infra/nats configuration.",
    `listen: ${o.host ?? '127.0.0.1'}:${o.port}`,
    o.node ? `server_name: ${quote(o.node.serverName)}` : '',
    // Routes between nodes are on loopback and need no credentials: the authorization below is for clients only.
    o.node
      ? `cluster { name: ${quote(o.node.cluster.name)}, listen: 127.0.0.1:${o.node.cluster.port}, routes: [${o.node.cluster.routes.map((p) => quote(`nats-route://127.0.0.1:${p}`)).join(', ')}] }`
      : '',
    o.monitorPort ? `http: 127.0.0.1:${o.monitorPort}` : '',
    `jetstream { store_dir: ${quote(o.storeDir)} }`,
    // Refusals (permission violations, failed authentications) are logged here, one line each.
    o.logFile === false ? '' : `log_file: ${quote(join(o.dir, `${o.node?.fileName ?? 'nats-server'}.log`))}`,
    // users.conf includes permissions.conf and roles.conf (nats-server resolves includes relative to the file).
    'include "users.conf"',
    o.unauthenticated === 'admin' ? 'no_auth_user: "unauthenticated-admin"' : '',
    o.tls ? `tls { cert_file: ${quote(o.tls.certFile)}, key_file: ${quote(o.tls.keyFile)}, ca_file: ${quote(o.tls.caFile)}, verify: ${o.tls.verify ? 'true' : 'false'}, timeout: 5 }` : '',
  ].filter(Boolean);
  const configFile = join(o.dir, `${o.node?.fileName ?? 'nats-server'}.conf`);
  writeFileSync(configFile, `${config.join('\n')}\n`, { mode: 0o600 });
  return { configFile, env, inboxes };
}

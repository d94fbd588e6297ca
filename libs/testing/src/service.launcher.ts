import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ServiceHandle {
  readonly name: string;
  readonly httpPort: number;
  readonly logFile: string;
  /**
   * Resolves once `/health/ready` answers 200 (or `/health/live`, with `until: 'live'`: a standby such as a second
   * gateway-xmpp is live but not ready while another instance holds the XMPP component connection).
   */
  start(options?: { until?: 'ready' | 'live' }): Promise<void>;
  /** SIGTERM and wait for a clean exit (graceful drain). Resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, no shutdown hooks. */
  kill(): Promise<void>;
  readonly running: boolean;
  /** The running process's ID (benchmarks read its CPU time), undefined while stopped. */
  readonly pid: number | undefined;
}

/**
 * The services' V8 flags, as the container image (infra/Dockerfile) and the start command set them: a young
 * generation of 2 x 32 MB instead of 2 x 16 MB halves the scavenges, each a pause on the message path (see
 * docs/operations.md, "Node flags", and docs/benchmarks.md).
 */
export const SERVICE_NODE_OPTIONS = '--max-semi-space-size=32';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function waitForHttp(url: string, { timeoutMs = 30_000, status = 200, isAlive }: { timeoutMs?: number; status?: number; isAlive?: () => boolean } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  let last = 'no answer';
  for (;;) {
    if (isAlive && !isAlive()) throw new Error(`process behind ${url} exited (${last})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      last = `HTTP ${res.status}`;
      if (res.status === status) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
}

/**
 * Runs a built Parley service (`services/<name>/dist/main.js`) as its own process on loopback, the way the
 * start command does, with its JSON log in `logDir`.
 */
export async function launchService(name: string, env: Record<string, string>, logDir: string, instance = name): Promise<ServiceHandle> {
  const main = join(repoRoot, 'services', name, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx nx run-many -t build)`);
  mkdirSync(logDir, { recursive: true });
  const httpPort = await freePort();
  const logFile = join(logDir, `${instance}.log`);
  let child: ChildProcess | undefined;
  /** Resolves once everything the current process wrote is in its log file (after its pipes closed). */
  let logged: Promise<void> = Promise.resolve();
  // Bounded: pipes a grandchild inherited would never close, and a stop must not hang on them.
  const logComplete = () => Promise.race([logged, new Promise<void>((r) => setTimeout(r, 5_000).unref())]);
  const alive = () => !!child && child.exitCode === null && child.signalCode === null;
  const handle: ServiceHandle = {
    name,
    httpPort,
    logFile,
    get running() {
      return alive();
    },
    get pid() {
      return alive() ? child?.pid : undefined;
    },
    async start({ until = 'ready' } = {}) {
      const log = createWriteStream(logFile, { flags: 'a' });
      // PARLEY_SERVICE_NODE_ARGS: node flags for every launched service, e.g. `--cpu-prof --cpu-prof-dir=DIR`
      // (flags NODE_OPTIONS does not take) to profile a benchmark's services; they override SERVICE_NODE_OPTIONS.
      const nodeArgs = (process.env.PARLEY_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const proc = spawn(process.execPath, [...nodeArgs, main], {
        cwd: repoRoot,
        env: {
          ...process.env,
          NODE_OPTIONS: [process.env.NODE_OPTIONS, SERVICE_NODE_OPTIONS].filter(Boolean).join(' '),
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: String(httpPort),
          LOG_LEVEL: 'info',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      live.add(proc);
      // Two pipes into one file: neither may end it. It is ended once both closed, and stop() and kill() wait for
      // that, so a test that reads the log after a stop sees the process's last line.
      proc.stdout?.pipe(log, { end: false });
      proc.stderr?.pipe(log, { end: false });
      logged = new Promise<void>((r) => {
        proc.once('close', () => log.end(r));
      });
      // The output's last few kilobytes, kept for the error of a start that fails: a CI run shows only what the
      // test prints, not the log file it names.
      let tail = '';
      const keep = (chunk: Buffer) => {
        tail = (tail + chunk.toString('utf8')).slice(-4_000);
      };
      proc.stdout?.on('data', keep);
      proc.stderr?.on('data', keep);
      proc.once('exit', () => live.delete(proc));
      try {
        await waitForHttp(`http://127.0.0.1:${httpPort}/health/${until}`, { isAlive: alive });
      } catch (err) {
        // The pipes may still hold the last lines of a process that just exited: 'close' comes after both ended.
        if (!alive()) await new Promise((r) => (proc.stdout?.readableEnded && proc.stderr?.readableEnded ? r(undefined) : proc.once('close', r)));
        const lines = tail.trimEnd().split('\n').slice(-12).join('\n    ');
        const ended = proc.exitCode !== null ? `, exit code ${proc.exitCode}` : proc.signalCode ? `, killed by ${proc.signalCode}` : '';
        throw new Error(`${instance} did not start: ${(err as Error).message}${ended}; its last output (${logFile}):\n    ${lines}`, { cause: err });
      } finally {
        proc.stdout?.off('data', keep);
        proc.stderr?.off('data', keep);
      }
    },
    async stop() {
      const proc = child;
      if (!proc || !alive()) {
        await logComplete();
        return proc?.exitCode ?? null;
      }
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      proc.kill('SIGTERM');
      const code = await exited;
      await logComplete();
      return code;
    },
    async kill() {
      const proc = child;
      if (!proc || !alive()) {
        await logComplete();
        return;
      }
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGKILL');
      await exited;
      await logComplete();
    },
  };
  return handle;
}

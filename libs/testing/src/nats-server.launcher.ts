import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from './executable.js';
import { freePort, waitForPort } from './free-port.js';

export const NATS_SERVER_MISSING =
  'nats-server is not installed. On Debian or Ubuntu run: sudo apt-get update && sudo apt-get install -y nats-server ' +
  '(or put a nats-server 2.9+ binary on PATH, or set NATS_SERVER_BIN).';

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
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Starts a real nats-server with JetStream on a free loopback port and a temp store dir, and resolves once it
 * accepts clients. Every integration and end-to-end suite uses this; nothing is mocked.
 */
export async function startNatsServer(options: { storeDir?: string; port?: number; monitor?: boolean } = {}): Promise<NatsServerHandle> {
  const bin = process.env.NATS_SERVER_BIN ?? findExecutable('nats-server');
  if (!bin) throw new Error(NATS_SERVER_MISSING);
  const ownsStore = options.storeDir === undefined;
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'parley-nats-'));
  const port = options.port ?? (await freePort());
  const monitorPort = options.monitor ? await freePort() : undefined;
  let child: ChildProcess | undefined;
  let stderr = '';

  const start = async () => {
    const proc = spawn(bin, ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port), ...(monitorPort ? ['-m', String(monitorPort)] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
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
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    monitorPort,
    pause: halt,
    start,
    stop: async () => {
      await halt();
      if (ownsStore) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

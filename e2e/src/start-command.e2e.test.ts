import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { DEMO_NATS_ROLES, freePort, type NatsServerHandle, startNatsServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './parley-stack.js';

const script = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url));
let nats: NatsServerHandle;
let start: ChildProcess;
let output = '';
let base = 0;

const ready = async (port: number) => {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(3_000) })).status;
  } catch {
    return 0;
  }
};
const ports = () => [1, 2, 3, 4, 5].map((i) => base + i);

beforeAll(async () => {
  // With the repository's users and permissions, as the start command's own server runs: it finds the keys there.
  const keyDir = mkdtempSync(join(tmpdir(), 'parley-start-keys-'));
  nats = await startNatsServer({ unauthenticated: 'refused', roles: DEMO_NATS_ROLES, keyDir });
  // Five consecutive free ports above a free one; the kernel hands out ports far apart, so this rarely collides.
  base = (await freePort()) + 10;
  start = spawn(process.execPath, [script], {
    env: { ...process.env, NATS_URL: nats.url, PARLEY_NATS_KEY_DIR: keyDir, PARLEY_HTTP_PORT_BASE: String(base), PARLEY_SKIP_BUILD: '1', PARLEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-start-')) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  start.stdout!.on('data', (d) => (output += d.toString()));
  start.stderr!.on('data', (d) => (output += d.toString()));
  await until(() => output.includes('Ctrl-C stops everything') || (start.exitCode !== null ? Promise.reject(new Error(output)) : undefined), 'the start command to report Parley running', 90_000);
});

afterAll(async () => {
  if (start && start.exitCode === null) start.kill('SIGKILL');
  await nats?.stop();
});

describe('npm start (scripts/start.mjs) with NATS_URL', () => {
  it('brings up the five services, ready, and tells what runs where', async () => {
    for (const port of ports()) expect(await ready(port)).toBe(200);
    for (const name of ['registration', 'presence-proxy', 'buffer', 'router', 'reporting', 'demo contact center']) expect(output).toContain(name);
    expect(output).toContain(`http://127.0.0.1:${base + 1}`);
  });

  it('runs the demo contact center: its address is registered and its bot answers', async () => {
    const nc = await connect(nats.connectOptions('admin'));
    const lookup = (await nc.request('parley.v1.registration.lookup', JSON.stringify({ address: 'support@parley.example.test' }), { timeout: 5_000 })).json();
    expect(lookup).toMatchObject({ registered: true, queueId: 'support' });
    await nc.close();
  });

  it('turns readiness to 503 while nats-server is down and back to 200 when it returns, without a restart', async () => {
    await nats.pause();
    for (const port of ports()) await until(async () => ((await ready(port)) === 503) || undefined, `503 on ${port}`, 30_000);
    await nats.start();
    for (const port of ports()) await until(async () => ((await ready(port)) === 200) || undefined, `200 on ${port}`, 30_000);
    expect(start.exitCode).toBeNull();
  });

  it('stops everything cleanly on Ctrl-C', async () => {
    const exited = new Promise<number | null>((r) => start.once('exit', (code) => r(code)));
    start.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('[parley] stopped.');
    for (const port of ports()) expect(await ready(port)).toBe(0);
  });
});

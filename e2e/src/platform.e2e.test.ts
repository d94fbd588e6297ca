import { spawnSync } from 'node:child_process';
import { createUser } from '@nats-io/nkeys';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchService } from '@parley/testing';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyStack, SERVICES, until } from './parley-stack.js';

let stack: ParleyStack;

beforeAll(async () => {
  stack = await ParleyStack.start();
});

afterAll(async () => {
  await stack?.stop();
});

const ready = async (port: number) => (await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(5_000) })).status;

describe('the contract the services actually serve', () => {
  it('matches docs/asyncapi.yaml subject for subject', async () => {
    const doc = parse(readFileSync(fileURLToPath(new URL('../../docs/asyncapi.yaml', import.meta.url)), 'utf8')) as {
      channels: Record<string, { address: string | null }>;
      operations: Record<string, { action: string; channel: { $ref: string } }>;
    };
    const documented = Object.values(doc.operations)
      .filter((o) => o.action === 'receive')
      .map((o) => doc.channels[o.channel.$ref.split('/').at(-1)!]!.address!.replace(/\{\w+\}/g, '*'));
    const subsz = (await (await fetch(`http://127.0.0.1:${stack.nats.monitorPort}/subsz?subs=1`)).json()) as { subscriptions_list: { subject: string; qgroup?: string }[] };
    const served = new Set(subsz.subscriptions_list.filter((s) => s.qgroup && s.subject.startsWith('parley.v1.')).map((s) => s.subject));
    expect(served).toEqual(new Set(documented));
    // Each subject is served by the service the document names (its queue group).
    const byService = new Map(subsz.subscriptions_list.filter((s) => s.qgroup).map((s) => [s.subject, s.qgroup]));
    expect(byService.get('parley.v1.im.subscribe')).toBe('presence-proxy');
    expect(byService.get('parley.v1.agent.offer.accept')).toBe('router');
  });
});

describe('operations', () => {
  it('exposes liveness, readiness and Prometheus metrics on every service', async () => {
    for (const name of SERVICES) {
      const port = stack.service(name).httpPort;
      expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
      expect(await ready(port)).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('parley_requests_total');
      expect(metrics).toContain('parley_process_cpu_seconds_total');
    }
  });

  it('refuses to start on bad configuration, naming the variable', () => {
    const main = fileURLToPath(new URL('../../services/router/dist/main.js', import.meta.url));
    const bad = spawnSync(process.execPath, [main], { env: { ...process.env, NATS_URL: 'http://nowhere', OFFER_TIMEOUT_SECONDS: 'soon' }, encoding: 'utf8', timeout: 20_000 });
    expect(bad.status).toBe(78);
    expect(bad.stderr).toContain('NATS_URL');
    expect(bad.stderr).toContain('OFFER_TIMEOUT_SECONDS');
  });

  it('says why a launched service did not start: its exit code and last output in the error', async () => {
    // What a CI run shows of a service that stops at start (the test harness's own launcher).
    const dir = mkdtempSync(join(tmpdir(), 'parley-no-start-'));
    const router = await launchService('router', { NATS_URL: 'http://nowhere', OFFER_TIMEOUT_SECONDS: 'soon' }, dir, 'router-no-start');
    const err = await router.start().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('router-no-start did not start');
    expect(err?.message).toContain('exit code 78');
    expect(err?.message).toContain('OFFER_TIMEOUT_SECONDS');
  });

  it('refuses to start with credentials nats-server does not know: exit 78 and a line that says so, no stack trace', () => {
    const main = fileURLToPath(new URL('../../services/router/dist/main.js', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'parley-wrong-seed-'));
    const seedFile = join(dir, 'stranger.nk');
    writeFileSync(seedFile, new TextDecoder().decode(createUser().getSeed()));
    const bad = spawnSync(process.execPath, [main], { env: { ...process.env, NATS_URL: stack.nats.url, NATS_NKEY_SEED_FILE: seedFile, HTTP_PORT: '0' }, encoding: 'utf8', timeout: 20_000 });
    expect(bad.status, bad.stderr).toBe(78);
    expect(bad.stderr).toContain("parley-router: nats-server refused this service's credentials (Authorization Violation)");
    expect(bad.stderr).not.toContain('triggerUncaughtException');
  });

  it('drains and exits cleanly on SIGTERM', async () => {
    const reporting = stack.service('reporting');
    expect(await reporting.stop()).toBe(0);
    const log = readFileSync(reporting.logFile, 'utf8');
    expect(log).toContain('"msg":"shutting down: draining in-flight work"');
    expect(log).toContain('"msg":"stopped"');
    await reporting.start();
  });

  it('turns readiness to 503 while nats-server is down and back to 200 when it returns, without a restart', async () => {
    await stack.nats.pause();
    for (const name of SERVICES) await until(async () => (await ready(stack.service(name).httpPort)) === 503 || undefined, `${name} to report not ready`, 30_000);
    await stack.nats.start();
    for (const name of SERVICES) await until(async () => (await ready(stack.service(name).httpPort)) === 200 || undefined, `${name} to report ready again`, 30_000);
    for (const name of SERVICES) expect(stack.service(name).running).toBe(true);
  });
});

import { Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { connect, errors as natsErrors, type NatsConnection } from '@nats-io/transport-node';
import { LookupRequest } from '@parley/contracts';
import { forbidden } from '@parley/errors';
import { type NatsServerHandle, startNatsServer } from '@parley/testing';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceApp } from './bootstrap.js';
import { Handles, type RequestContext } from './handles.decorator.js';
import { ParleyPlatformModule } from './parley-platform.module.js';
import { ServiceConfig, loadConfig } from './service-config.js';

@Injectable()
class ProbeHandler {
  @Handles('parley.v1.test.echo', LookupRequest)
  echo(req: LookupRequest, ctx: RequestContext) {
    if (req.address.startsWith('forbidden@')) throw forbidden('not you');
    if (req.address.startsWith('crash@')) throw new Error('boom');
    // What the event store or a KV call throws while NATS does not answer.
    if (req.address.startsWith('timeout@')) throw new natsErrors.TimeoutError();
    return { address: req.address, subject: ctx.subject };
  }
}

@Module({})
class ProbeModule {}

let nats: NatsServerHandle;
let app: INestApplication;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  // The crash below is provoked on purpose: its error line is not wanted in the test output.
  const config = loadConfig(ServiceConfig, { NATS_URL: nats.url, LOG_LEVEL: 'silent' });
  app = await createServiceApp(
    { name: 'probe', config: ServiceConfig, module: (c) => ({ module: ProbeModule, imports: [ParleyPlatformModule.forService('probe', c)], providers: [ProbeHandler] }) },
    config,
  );
  await app.init();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await app?.close();
  await nats?.stop();
});

const ask = async (payload: unknown) => (await nc.request('parley.v1.test.echo', typeof payload === 'string' ? payload : JSON.stringify(payload), { timeout: 5_000 })).json<Record<string, unknown>>();

describe('the request router', () => {
  it('answers plain JSON with no framework envelope', async () => {
    expect(await ask({ address: 'ann@example.test', extra: 'ignored' })).toEqual({ address: 'ann@example.test', subject: 'parley.v1.test.echo' });
  });

  it("maps bad input and failures to the contract's structured errors", async () => {
    expect(await ask({ address: 'no-at-sign' })).toEqual({
      error: { code: 'invalid-payload', message: 'invalid fields: address', details: { fields: { address: ['address must be an IM address'] } } },
    });
    expect(await ask('[1,2]')).toEqual({ error: { code: 'invalid-payload', message: 'the request body must be a JSON object' } });
    expect(await ask('{oops')).toEqual({ error: { code: 'invalid-payload', message: 'the request body is not JSON' } });
    expect(await ask({ address: 'forbidden@example.test' })).toEqual({ error: { code: 'forbidden', message: 'not you' } });
    expect(await ask({ address: 'crash@example.test' })).toEqual({ error: { code: 'internal', message: 'internal error' } });
    // NATS not answering is "try again", not a fault of the service's.
    expect(await ask({ address: 'timeout@example.test' })).toEqual({ error: { code: 'unavailable', message: 'NATS did not answer in time; try again' } });
  });
});

describe('the HTTP surface', () => {
  it('is live, ready while NATS and JetStream answer, and exposes Prometheus metrics', async () => {
    const http = app.getHttpServer();
    await request(http).get('/health/live').expect(200, { status: 'ok' });
    await request(http)
      .get('/health/ready')
      .expect(200, { status: 'ready', checks: { nats: 'ok', jetstream: 'ok' } });
    const metrics = await request(http).get('/metrics').expect(200);
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.text).toMatch(/parley_requests_total\{subject="parley.v1.test.echo",outcome="invalid-payload"\} [1-9]/);
  });

  it('serves exactly the paths docs/openapi.yaml documents, with the documented statuses', async () => {
    const doc = parse(readFileSync(fileURLToPath(new URL('../../../docs/openapi.yaml', import.meta.url)), 'utf8')) as { paths: Record<string, { get: { responses: Record<string, unknown> } }> };
    const http = app.getHttpServer();
    for (const [path, item] of Object.entries(doc.paths)) {
      const res = await request(http).get(path);
      expect(Object.keys(item.get.responses), path).toContain(String(res.status));
    }
    await request(http).get('/health/unknown').expect(404);
  });

  it('reports 503 while nats-server is down and 200 once it is back', async () => {
    const http = app.getHttpServer();
    await nats.pause();
    const down = await request(http).get('/health/ready').expect(503);
    expect(down.body.status).toBe('unavailable');
    await nats.start();
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) status = (await request(http).get('/health/ready')).status;
    expect(status).toBe(200);
  });
});

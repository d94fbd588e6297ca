import { connect } from '@nats-io/transport-node';
import { SUBJECTS, asActorSubject } from '@parley/contracts';
import { type TestCertificates, makeTestCertificates } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyStack, SERVICES } from './parley-stack.js';

let certs: TestCertificates;
let stack: ParleyStack;

beforeAll(async () => {
  certs = makeTestCertificates();
  stack = await ParleyStack.start(
    {},
    { tls: { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, verify: true, clientCertFile: certs.clientCertFile, clientKeyFile: certs.clientKeyFile } },
  );
});

afterAll(async () => {
  await stack?.stop();
});

describe('TLS between the services and NATS (certificates generated for this run)', () => {
  it('runs every service over TLS with a client certificate, and a chat opens', async () => {
    expect(stack.nats.url).toMatch(/^tls:\/\//);
    for (const name of SERVICES) expect((await fetch(`http://127.0.0.1:${stack.service(name).httpPort}/health/ready`)).status, name).toBe(200);
    await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'tls-ep', address: 'support@tls.test', queueId: 'support', leaseSeconds: 600 });
    expect(await stack.request(asActorSubject(SUBJECTS.imSubscribe, 'web'), { channel: 'web', from: 'tina@web.test', to: 'support@tls.test' })).toMatchObject({ status: 'available' });
    const connz = (await (await fetch(`http://127.0.0.1:${stack.nats.monitorPort}/connz?limit=100`)).json()) as { connections: { name?: string; tls_version?: string }[] };
    const services = connz.connections.filter((c) => c.name?.startsWith('parley-'));
    expect(services.length).toBeGreaterThanOrEqual(5);
    for (const c of services) expect(c.tls_version, c.name).toMatch(/^1\.[23]$/);
  });

  it('refuses a client without TLS, without a client certificate, or with a certificate of another CA, even with a valid nkey', async () => {
    const { authenticator, inboxPrefix } = stack.nats.connectOptions('admin');
    const plain = `nats://127.0.0.1:${stack.nats.port}`;
    await expect(connect({ servers: plain, authenticator, inboxPrefix, maxReconnectAttempts: 0, timeout: 5_000, tls: null })).rejects.toThrow();
    await expect(connect({ servers: stack.nats.url, authenticator, inboxPrefix, maxReconnectAttempts: 0, timeout: 5_000, tls: { caFile: certs.caFile } })).rejects.toThrow();
    await expect(
      connect({
        servers: stack.nats.url,
        authenticator,
        inboxPrefix,
        maxReconnectAttempts: 0,
        timeout: 5_000,
        tls: { caFile: certs.caFile, certFile: certs.strangerCertFile, keyFile: certs.strangerKeyFile },
      }),
    ).rejects.toThrow();
    const ok = await connect(stack.nats.connectOptions('admin'));
    await ok.flush();
    await ok.close();
  });
});

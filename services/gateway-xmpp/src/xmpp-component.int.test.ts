// The gateway's first connection to an XMPP server that accepts the TCP connection and never answers (a server
// starting up, a proxy holding the port): xmpp.js's start times out with its socket still open, and its own
// reconnection only acts on a disconnect, which never comes. The component closes that connection and starts
// again, so the gateway does not stay unready for good.
import { createServer, type Server, type Socket } from 'node:net';
import { ReadinessChecks } from '@parley/service-kit';
import { Logger } from '@nestjs/common';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { GatewayXmppConfig } from './gateway-xmpp.config.js';
import { XmppComponent } from './xmpp-component.service.js';

const sockets: Socket[] = [];
let server: Server | undefined;
let component: XmppComponent | undefined;

afterAll(async () => {
  await component?.beforeApplicationShutdown();
  vi.restoreAllMocks(); // after the shutdown: the retry loop may warn until then
  for (const s of sockets) s.destroy();
  await new Promise((r) => server?.close(r));
});

describe('the XMPP component connection', () => {
  it('starts again when the server takes the connection and never answers', async () => {
    // Its warnings are what an operator sees while the server does not answer: taken here and checked, not printed.
    const warnings = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    let connections = 0;
    server = createServer((socket) => {
      connections++;
      sockets.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const config = Object.assign(new GatewayXmppConfig(), { XMPP_COMPONENT_SERVICE: `xmpp://127.0.0.1:${port}`, XMPP_COMPONENT_DOMAIN: 'parley.example.test', XMPP_COMPONENT_SECRET: 's' });
    const readiness = new ReadinessChecks();
    component = new XmppComponent(config, readiness);
    component.onApplicationBootstrap();
    const deadline = Date.now() + 30_000;
    while (connections < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(connections).toBeGreaterThanOrEqual(2);
    expect(component.isOnline).toBe(false);
    const [, check] = readiness.entries().find(([name]) => name === 'xmpp')!;
    await expect(Promise.resolve().then(() => check())).rejects.toThrow(/not connected/);
    expect(warnings).toHaveBeenCalledWith(expect.objectContaining({ msg: 'cannot connect to the XMPP server yet', service: `xmpp://127.0.0.1:${port}` }));
  }, 40_000);
});

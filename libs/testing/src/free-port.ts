import { createServer, connect } from 'node:net';

/** Where test listeners go: below Linux's ephemeral range (32768-60999), which outgoing connections draw from. */
const LISTEN_RANGE = { from: 20_000, to: 32_000 };
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A loopback port free now, for a server the caller starts next. Drawn at random below the ephemeral range: a
 * port the kernel hands out with `listen(0)` is one any process's next outgoing connection may take before the
 * server binds it (seen on a busy machine, a service dying with EADDRINUSE). Never the same port twice per process.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LISTEN_RANGE.from + Math.floor(Math.random() * (LISTEN_RANGE.to - LISTEN_RANGE.from));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port between ${LISTEN_RANGE.from} and ${LISTEN_RANGE.to}`);
}

/** Resolves once something on `port` answers with bytes that satisfy `ready` (or just accepts, without one). */
export async function waitForPort(port: number, { timeoutMs = 15_000, ready, isAlive }: { timeoutMs?: number; ready?: (banner: string) => boolean; isAlive?: () => boolean } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    if (isAlive && !isAlive()) throw new Error(`process meant to listen on 127.0.0.1:${port} exited`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      let banner = '';
      const done = (v: boolean) => {
        socket.destroy();
        resolve(v);
      };
      socket.setTimeout(1_000, () => done(false));
      socket.on('error', () => done(false));
      socket.on('connect', () => (ready ? undefined : done(true)));
      socket.on('data', (d) => {
        banner += d.toString();
        if (ready?.(banner)) done(true);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing ready on 127.0.0.1:${port} after ${timeoutMs} ms`);
    // Back-off between polls of a readiness condition, not a fixed wait for it.
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}

import { createServer, connect } from 'node:net';

/** A port the kernel just handed out on loopback; the caller binds it next. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once something on `port` answers with bytes that satisfy `ready` (or just accepts, without one). */
export async function waitForPort(
  port: number,
  { timeoutMs = 15_000, ready, isAlive }: { timeoutMs?: number; ready?: (banner: string) => boolean; isAlive?: () => boolean } = {},
): Promise<void> {
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

import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { type Component, type Element, component, xml } from '@xmpp/component';
import { randomUUID } from 'node:crypto';
import { ReadinessChecks, SERVICE_CONFIG } from '@parley/service-kit';
import type { GatewayXmppConfig } from './gateway-xmpp.config.js';

type StanzaHandler = (stanza: Element) => Promise<void>;

/**
 * The gateway's connection to the XMPP server as an external component (XEP-0114): connects with back-off,
 * reconnects when the server goes away, and hands every stanza to the channels. XMPP servers accept one
 * connection per component domain, so a second gateway instance waits as a standby until the first is gone.
 */
@Injectable()
export class XmppComponent implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('XmppComponent');
  private readonly xmpp: Component;
  private readonly handlers: StanzaHandler[] = [];
  private online = false;
  private lastError?: string;
  private readonly onlineListeners: ((online: boolean) => void)[] = [];
  private stopping = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** Per sender and recipient, stanzas are handled one after another, so a burst keeps its order. */
  private readonly lanes = new Map<string, Promise<void>>();
  /** Barriers in flight (see flushed()), by the id of the message to ourselves that ends each. */
  private readonly barriers = new Map<string, { pass: () => void; fail: (err: Error) => void }>();
  private nextBarrier?: Promise<void>;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: GatewayXmppConfig,
    readiness: ReadinessChecks,
  ) {
    this.xmpp = component({ service: config.XMPP_COMPONENT_SERVICE, domain: config.XMPP_COMPONENT_DOMAIN, password: config.XMPP_COMPONENT_SECRET });
    this.xmpp.on('online', () => {
      this.setOnline(true);
      this.logger.log({ msg: 'connected to the XMPP server', domain: config.XMPP_COMPONENT_DOMAIN });
    });
    this.xmpp.on('offline', () => this.setOnline(false));
    this.xmpp.on('disconnect', () => {
      const was = this.online;
      this.setOnline(false);
      if (was && !this.stopping) this.logger.warn({ msg: 'disconnected from the XMPP server; reconnecting' });
    });
    // A standby is refused every second while another instance holds the component: each kind of error is logged
    // once until the connection is up again, not at every attempt.
    this.xmpp.on('error', (err: Error) => {
      if (!this.online && this.lastError === err.message) return;
      this.lastError = err.message;
      this.logger.warn({ msg: 'XMPP connection error', err: err.message });
    });
    this.xmpp.on('stanza', (stanza: Element) => {
      const barrier = stanza.is('message') && stanza.attrs.from === this.barrierJid ? this.barriers.get(stanza.attrs.id ?? '') : undefined;
      if (barrier) return barrier.pass();
      const lane = `${stanza.attrs.from ?? ''}>${stanza.attrs.to ?? ''}`;
      const previous = this.lanes.get(lane) ?? Promise.resolve();
      const work: Promise<void> = previous
        .then(async () => {
          for (const handle of this.handlers) await handle(stanza);
        })
        .catch((err: unknown) => this.logger.error({ msg: 'stanza handler failed', stanza: stanza.toString().slice(0, 500), err: String((err as Error)?.stack ?? err) }))
        .finally(() => {
          this.inFlight.delete(work);
          if (this.lanes.get(lane) === work) this.lanes.delete(lane);
        });
      this.lanes.set(lane, work);
      this.inFlight.add(work);
    });
    readiness.register('xmpp', () => {
      if (!this.online) throw new Error(`not connected to ${config.XMPP_COMPONENT_SERVICE}`);
    });
  }

  get domain(): string {
    return this.config.XMPP_COMPONENT_DOMAIN;
  }

  get isOnline(): boolean {
    return this.online;
  }

  /** Told each time the component connects or loses its connection (a standby is told when it takes over). */
  onOnlineChange(listener: (online: boolean) => void): void {
    this.onlineListeners.push(listener);
  }

  private setOnline(online: boolean): void {
    if (this.online === online) return;
    this.online = online;
    if (online) this.lastError = undefined;
    // A barrier's message to ourselves cannot come back over a lost connection: its delivery fails now (and is
    // redelivered) instead of at the barrier's timeout, so a relay stopping for the disconnect is not held up.
    if (!online) for (const barrier of [...this.barriers.values()]) barrier.fail(new Error('the XMPP server connection was lost'));
    for (const listener of this.onlineListeners) listener(online);
  }

  onStanza(handler: StanzaHandler): void {
    this.handlers.push(handler);
  }

  /** Sends a stanza; rejects while offline, so a delivery is redelivered rather than lost. */
  async send(stanza: Element): Promise<void> {
    if (!this.online) throw new Error('the XMPP server is not connected');
    await this.xmpp.send(stanza);
  }

  private get barrierJid(): string {
    return `parley-barrier@${this.config.XMPP_COMPONENT_DOMAIN}`;
  }

  /**
   * Resolves once the XMPP server has read every stanza sent before the call. XEP-0114 has no acknowledgements, so
   * a written stanza may still sit in a socket buffer, and a SIGKILL then loses it (the kernel resets a connection
   * closed with unread data, discarding what it had not sent). A message to ourselves goes through the server,
   * which handles a connection's stanzas in order: when it comes back, the server has taken everything before it.
   * Callers in the same tick share one such round trip.
   */
  flushed(timeoutMs = 10_000): Promise<void> {
    this.nextBarrier ??= new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        this.nextBarrier = undefined;
        const id = `barrier-${randomUUID()}`;
        const settle = () => {
          clearTimeout(timer);
          this.barriers.delete(id);
        };
        const barrier = {
          pass: () => {
            settle();
            resolve();
          },
          fail: (err: Error) => {
            settle();
            reject(err);
          },
        };
        const timer = setTimeout(() => barrier.fail(new Error(`the XMPP server did not pass a stanza back within ${timeoutMs} ms`)), timeoutMs);
        this.barriers.set(id, barrier);
        this.send(xml('message', { from: this.barrierJid, to: this.barrierJid, id })).catch((err: unknown) => barrier.fail(err as Error));
      });
    });
    return this.nextBarrier;
  }

  request(iq: Element, timeoutMs: number): Promise<Element> {
    return this.xmpp.iqCaller.request(iq, timeoutMs);
  }

  onApplicationBootstrap(): void {
    void this.connect();
  }

  /** The first connection is retried with back-off; after it, xmpp.js reconnects by itself. */
  private async connect(): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        await this.xmpp.start();
        return;
      } catch (err) {
        const status = this.xmpp.status;
        // A start that timed out with its socket still open: xmpp.js reconnects only after a disconnect, which then
        // never comes, so it is closed here and started again.
        if (status === 'opening' || status === 'open' || status === 'connect') await this.xmpp.stop().catch(() => undefined);
        // A refused or dropped connection: xmpp.js's own reconnection has taken over (every second).
        else if (status !== 'offline') return;
        if (this.stopping) return;
        const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
        this.logger.warn({ msg: 'cannot connect to the XMPP server yet', service: this.config.XMPP_COMPONENT_SERVICE, retryInMs: delay, err: (err as Error).message });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * Closes the stream first (from then on the server bounces stanzas to the sender with an error), then
   * finishes every stanza already read, while NATS is still up.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.xmpp.reconnect.stop();
    await this.xmpp.stop().catch(() => undefined);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}

import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type AgentDelivery, type CustomerDelivery, DELIVERY_STREAM, agentDeliverSubject, imDeliverSubject } from '@parley/contracts';
import { JetStreamEventStore } from '@parley/event-store';
import { type NatsServerHandle, type NatsServerOptions, type ServiceHandle, launchService, startNatsServer } from '@parley/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SERVICES = ['registration', 'presence-proxy', 'buffer', 'router', 'reporting'] as const;
export type ServiceName = (typeof SERVICES)[number];

export async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}

/** Everything delivered on one subject of the deliveries stream, from the start, in order. */
export class Inbox<T> {
  readonly items: T[] = [];
  private stopFn?: () => void;
  private readonly listeners: ((item: T) => void)[] = [];

  /** Called for every item from now on, as it arrives (a desktop that reacts to offers). */
  onItem(listener: (item: T) => void): void {
    this.listeners.push(listener);
  }

  static async open<T>(nc: NatsConnection, subject: string): Promise<Inbox<T>> {
    const inbox = new Inbox<T>();
    const consumer = await jetstream(nc).consumers.get(DELIVERY_STREAM, { filter_subjects: subject });
    const messages = await consumer.consume();
    inbox.stopFn = () => messages.stop();
    void (async () => {
      for await (const m of messages) {
        const item = m.json<T>();
        inbox.items.push(item);
        for (const l of inbox.listeners) l(item);
      }
    })();
    return inbox;
  }

  waitFor(predicate: (item: T) => boolean, what: string, timeoutMs?: number): Promise<T> {
    return until(() => this.items.find(predicate), what, timeoutMs);
  }

  stop() {
    this.stopFn?.();
  }
}

/** A real nats-server and the five services, each its own process, as the start command runs them. */
export class ParleyStack {
  private readonly inboxes: Inbox<unknown>[] = [];
  private readonly extraHandles: ServiceHandle[] = [];
  private extras = 0;

  private constructor(
    readonly nats: NatsServerHandle,
    readonly nc: NatsConnection,
    readonly store: JetStreamEventStore,
    readonly services: Map<ServiceName, ServiceHandle>,
    readonly logDir: string,
    private readonly env: Record<string, string>,
  ) {}

  /**
   * Runs nats-server with the repository's users and permissions (infra/nats) and refuses unauthenticated clients,
   * as production does: each service connects as its own user, the test harness (`nc`) as the operators' admin.
   */
  static async start(env: Record<string, string> = {}, natsOptions: NatsServerOptions = {}): Promise<ParleyStack> {
    const nats = await startNatsServer({ monitor: true, unauthenticated: 'refused', ...natsOptions });
    const logDir = mkdtempSync(join(tmpdir(), 'parley-e2e-logs-'));
    const services = new Map<ServiceName, ServiceHandle>();
    const common = { CONSUMER_ACK_WAIT_MS: '1000', ...env };
    for (const name of SERVICES) services.set(name, await launchService(name, { ...nats.serviceEnv(name), ...common }, logDir));
    // registration first: presence-proxy's lookups need it; the rest may start in parallel.
    await services.get('registration')!.start();
    await Promise.all(SERVICES.filter((s) => s !== 'registration').map((s) => services.get(s)!.start()));
    const nc = await connect(nats.connectOptions('admin'));
    const store = await JetStreamEventStore.create(nc);
    return new ParleyStack(nats, nc, store, services, logDir, env);
  }

  service(name: ServiceName): ServiceHandle {
    return this.services.get(name)!;
  }

  /** Another instance of a service on the same NATS (a second router, say), started and ready. */
  /** `until: 'live'` for a standby, which is not ready while another instance works (a second gateway-xmpp). */
  async launchExtra(name: ServiceName | 'gateway-xmpp' | 'gateway-web', env: Record<string, string> = {}, options: { until?: 'ready' | 'live' } = {}): Promise<ServiceHandle> {
    const extra = await launchService(name, { ...this.nats.serviceEnv(name), CONSUMER_ACK_WAIT_MS: '1000', ...this.env, ...env }, this.logDir, `${name}-${++this.extras}`);
    this.extraHandles.push(extra);
    await extra.start(options);
    return extra;
  }

  /** The raw reply of a request: a result or `{error}`. */
  async request<T = Record<string, unknown>>(subject: string, payload: unknown): Promise<T> {
    const data = typeof payload === 'string' ? payload : JSON.stringify(payload);
    return (await this.nc.request(subject, data, { timeout: 10_000 })).json<T>();
  }

  async customerInbox(channel: string): Promise<Inbox<CustomerDelivery>> {
    const inbox = await Inbox.open<CustomerDelivery>(this.nc, imDeliverSubject(channel));
    this.inboxes.push(inbox as Inbox<unknown>);
    return inbox;
  }

  async agentInbox(agentId: string): Promise<Inbox<AgentDelivery>> {
    const inbox = await Inbox.open<AgentDelivery>(this.nc, agentDeliverSubject(agentId));
    this.inboxes.push(inbox as Inbox<unknown>);
    return inbox;
  }

  async stop(): Promise<void> {
    for (const inbox of this.inboxes) inbox.stop();
    await this.nc.close().catch(() => undefined);
    await Promise.all([...this.services.values(), ...this.extraHandles].map((s) => s.stop()));
    await this.nats.stop();
  }
}

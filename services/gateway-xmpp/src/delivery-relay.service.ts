import { Gauge } from 'prom-client';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type AgentDelivery, type CustomerDelivery, DELIVERY_STREAM, agentDeliverSubject, imDeliverSubject } from '@parley/contracts';
import { type Consumption, consumeDurably, jetStreamClientFor, jetStreamManagerFor, untilJetStreamAnswers } from '@parley/event-store';
import { MetricsService, NATS_CONNECTION, SERVICE_CONFIG, ensureDeliveryStream, streamDurability, tracedReceive, warnSettingsDiffer } from '@parley/service-kit';
import { AgentChannel } from './agent-channel.service.js';
import { CHANNEL, CustomerChannel } from './customer-channel.service.js';
import type { GatewayXmppConfig } from './gateway-xmpp.config.js';
import { XmppComponent } from './xmpp-component.service.js';

const RELAYS = ['customers', 'agents'] as const;
type Relay = (typeof RELAYS)[number];
/** Each relay's durable consumer and the deliveries it takes. */
const RELAY_CONSUMERS: Record<Relay, { durable: string; filterSubject: string }> = {
  customers: { durable: 'gateway-xmpp-customers', filterSubject: imDeliverSubject(CHANNEL) },
  agents: { durable: 'gateway-xmpp-agents', filterSubject: agentDeliverSubject('*') },
};

/**
 * Deliveries from JetStream to XMPP: each is acknowledged only after the XMPP server has taken its stanza (a round
 * trip through the server, see XmppComponent.flushed: written to the socket is not enough on a SIGKILL),
 * so a gateway restart or an XMPP outage loses nothing; a repeat carries the same stanza id (the delivery ID).
 * It relays only while the component is connected: a standby gateway (the XMPP server takes one connection per
 * component domain) takes no delivery, since one it took could only be retried there until it became active.
 */
@Injectable()
export class DeliveryRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('DeliveryRelay');
  private readonly running = new Map<Relay, Consumption>();
  /** The last delivery each relay handled: a relay whose durable is gone is made again after it, not from the start. */
  private readonly handledThrough = new Map<Relay, number>();
  /** Starts and stops, one after the other, as the component connects and disconnects. */
  private transitions: Promise<void> = Promise.resolve();
  private retry?: NodeJS.Timeout;
  private shuttingDown = false;
  private readonly relayRunning: Gauge;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayXmppConfig,
    private readonly xmpp: XmppComponent,
    private readonly customers: CustomerChannel,
    private readonly agents: AgentChannel,
    private readonly metrics: MetricsService,
  ) {
    this.relayRunning = new Gauge({
      name: 'parley_delivery_relay_running',
      help: '1 while this gateway relays deliveries (it holds the XMPP component connection), 0 on a standby',
      registers: [metrics.registry],
    });
    this.relayRunning.set(0);
  }

  async onApplicationBootstrap(): Promise<void> {
    await ensureDeliveryStream(this.nc, streamDurability(this.config), warnSettingsDiffer);
    this.xmpp.onOnlineChange((online) => this.follow(online));
    this.follow(this.xmpp.isOnline);
  }

  private follow(online: boolean): void {
    this.transitions = this.transitions
      .then(() => (online && !this.shuttingDown ? this.startRelaying() : this.stopRelaying()))
      .catch((err: unknown) => {
        this.logger.error({ msg: online ? 'delivery relay did not start; trying again in 2 s' : 'delivery relay did not stop cleanly', err: String(err) });
        // Otherwise this replica would hold the component connection, so no standby could take over, and relay nothing.
        if (online) this.tryAgainSoon();
      });
  }

  private tryAgainSoon(): void {
    clearTimeout(this.retry);
    if (this.shuttingDown) return;
    this.retry = setTimeout(() => this.follow(this.xmpp.isOnline), 2_000);
  }

  private async stopRelaying(): Promise<void> {
    const running = [...this.running.values()];
    this.running.clear();
    // Another replica may relay meanwhile: where this one got to is no longer where the durable is.
    this.handledThrough.clear();
    this.relayRunning.set(0);
    // What is in hand is finished or left unacknowledged for whoever relays next (this one reconnected, or the standby).
    await Promise.allSettled(running.map((c) => c.stop()));
  }

  private async startRelaying(): Promise<void> {
    // Each relay is kept as soon as it runs: a retry after a failed start makes only what is missing.
    for (const relay of RELAYS) {
      if (this.running.has(relay) || !this.xmpp.isOnline || this.shuttingDown) continue;
      const consumption = await this.consume(relay);
      this.running.set(relay, consumption);
      await this.noteDurablePlace(relay);
      // A consumption ends by itself when its consumer is gone or cannot be asked (see consumeDurably): made again.
      void consumption.ended.then((reason) => {
        if (this.running.get(relay) !== consumption) return;
        this.running.delete(relay);
        this.relayRunning.set(0);
        this.logger.warn({ msg: 'delivery relay stopped delivering; starting it again in 2 s', relay, reason: String(reason) });
        this.tryAgainSoon();
      });
    }
    this.relayRunning.set(this.running.size === RELAYS.length ? 1 : 0);
  }

  /**
   * Where the durable is when the relay starts: everything up to it was handled (no message pending) or up to its
   * ack floor. A fresh durable made from a start sequence reports an ack floor of 0, hence the delivered position.
   */
  private async noteDurablePlace(relay: Relay): Promise<void> {
    const info = await (await jetStreamManagerFor(this.nc)).consumers.info(DELIVERY_STREAM, RELAY_CONSUMERS[relay].durable).catch(() => undefined);
    if (!info) return;
    const through = info.num_ack_pending === 0 ? info.delivered.stream_seq : info.ack_floor.stream_seq;
    this.handledThrough.set(relay, Math.max(through, this.handledThrough.get(relay) ?? 0));
  }

  /** Made when the component connects, possibly while a cluster is still electing leaders: waited for like every stream and bucket. */
  private async consume(relay: Relay): Promise<Consumption> {
    const js = jetStreamClientFor(this.nc);
    const jsm = await jetStreamManagerFor(this.nc);
    const { durable, filterSubject } = RELAY_CONSUMERS[relay];
    const after = this.handledThrough.get(relay);
    return untilJetStreamAnswers(`consumer ${durable}`, () =>
      consumeDurably(js, jsm, {
        connection: this.nc,
        stream: DELIVERY_STREAM,
        name: durable,
        filterSubject,
        ackWaitMs: this.config.CONSUMER_ACK_WAIT_MS,
        ...(after === undefined ? {} : { fromSequence: after + 1 }),
        handle: async (m) => {
          await (relay === 'customers' ? this.toCustomer(m) : this.toAgent(m));
          this.handledThrough.set(relay, Math.max(m.seq, this.handledThrough.get(relay) ?? 0));
        },
      }),
    );
  }

  private toCustomer(m: JsMsg): Promise<void> {
    const delivery = m.json<CustomerDelivery>();
    // The last hop of the trace that made the delivery (its headers carry it).
    return tracedReceive('relay customer delivery', m.subject, m.headers, { 'parley.session.id': delivery.sessionId, 'parley.delivery.kind': delivery.kind }, async () => {
      await this.xmpp.send(this.customers.stanzaFor(delivery));
      await this.xmpp.flushed(); // acknowledged only once the XMPP server has taken it, not when written
      this.metrics.deliveries.inc({ kind: 'xmpp-customer' });
    });
  }

  private toAgent(m: JsMsg): Promise<void> {
    const agentId = m.subject.split('.').at(-1)!;
    const delivery = m.json<AgentDelivery>();
    return tracedReceive('relay agent delivery', m.subject, m.headers, { 'parley.agent.id': agentId, 'parley.session.id': delivery.sessionId, 'parley.delivery.kind': delivery.kind }, async () => {
      const stanza = this.agents.stanzaFor(agentId, delivery);
      if (!stanza) return; // an agent who does not work over XMPP
      await this.xmpp.send(stanza);
      await this.xmpp.flushed();
      this.metrics.deliveries.inc({ kind: 'xmpp-agent' });
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    clearTimeout(this.retry);
    this.follow(false);
    // A start may be waiting for JetStream (up to a minute): shutdown does not wait for it past a few seconds.
    await Promise.race([this.transitions, new Promise((r) => setTimeout(r, 5_000).unref())]);
  }
}

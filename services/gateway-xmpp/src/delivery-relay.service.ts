import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { type AgentDelivery, type CustomerDelivery, DELIVERY_STREAM, agentDeliverSubject, imDeliverSubject } from '@parley/contracts';
import { type Consumption, consumeDurably, jetStreamClientFor, jetStreamManagerFor, untilJetStreamAnswers } from '@parley/event-store';
import { MetricsService, NATS_CONNECTION, SERVICE_CONFIG, ensureDeliveryStream, streamDurability, tracedReceive, warnSettingsDiffer } from '@parley/service-kit';
import { AgentChannel } from './agent-channel.service.js';
import { CHANNEL, CustomerChannel } from './customer-channel.service.js';
import type { GatewayXmppConfig } from './gateway-xmpp.config.js';
import { XmppComponent } from './xmpp-component.service.js';

/**
 * Deliveries from JetStream to XMPP: each is acknowledged only after the XMPP server has taken its stanza (a round
 * trip through the server, see XmppComponent.flushed: written to the socket is not enough on a SIGKILL),
 * so a gateway restart or an XMPP outage loses nothing; a repeat carries the same stanza id (the delivery ID).
 */
@Injectable()
export class DeliveryRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly running: Consumption[] = [];

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayXmppConfig,
    private readonly xmpp: XmppComponent,
    private readonly customers: CustomerChannel,
    private readonly agents: AgentChannel,
    private readonly metrics: MetricsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await ensureDeliveryStream(this.nc, streamDurability(this.config), warnSettingsDiffer);
    const js = jetStreamClientFor(this.nc);
    const jsm = await jetStreamManagerFor(this.nc);
    const common = { connection: this.nc, stream: DELIVERY_STREAM, ackWaitMs: this.config.CONSUMER_ACK_WAIT_MS };
    this.running.push(
      // Made at start, when a cluster may still be electing leaders: waited for like every stream and bucket.
      await untilJetStreamAnswers('consumer gateway-xmpp-customers', () =>
        consumeDurably(js, jsm, {
          ...common,
          name: 'gateway-xmpp-customers',
          filterSubject: imDeliverSubject(CHANNEL),
          handle: (m) => {
            const delivery = m.json<CustomerDelivery>();
            // The last hop of the trace that made the delivery (its headers carry it).
            return tracedReceive('relay customer delivery', m.subject, m.headers, { 'parley.session.id': delivery.sessionId, 'parley.delivery.kind': delivery.kind }, async () => {
              await this.xmpp.send(this.customers.stanzaFor(delivery));
              await this.xmpp.flushed(); // acknowledged only once the XMPP server has taken it, not when written
              this.metrics.deliveries.inc({ kind: 'xmpp-customer' });
            });
          },
        }),
      ),
      await untilJetStreamAnswers('consumer gateway-xmpp-agents', () =>
        consumeDurably(js, jsm, {
          ...common,
          name: 'gateway-xmpp-agents',
          filterSubject: agentDeliverSubject('*'),
          handle: (m) => {
            const agentId = m.subject.split('.').at(-1)!;
            const delivery = m.json<AgentDelivery>();
            return tracedReceive(
              'relay agent delivery',
              m.subject,
              m.headers,
              { 'parley.agent.id': agentId, 'parley.session.id': delivery.sessionId, 'parley.delivery.kind': delivery.kind },
              async () => {
                const stanza = this.agents.stanzaFor(agentId, delivery);
                if (!stanza) return; // an agent who does not work over XMPP
                await this.xmpp.send(stanza);
                await this.xmpp.flushed();
                this.metrics.deliveries.inc({ kind: 'xmpp-agent' });
              },
            );
          },
        }),
      ),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.running.map((c) => c.stop()));
  }
}

import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Element, xml } from '@xmpp/component';
import { type AgentDelivery, SUBJECTS, agentLoginPayload, asActorSubject } from '@parley/contracts';
import { sessionAddressFor, sessionIdFromAddress } from '@parley/domain';
import { notFound, toParleyError } from '@parley/errors';
import { NATS_CONNECTION, SERVICE_CONFIG, SpanKind, natsRequest, traced } from '@parley/service-kit';
import { randomUUID } from 'node:crypto';
import { AgentRoster, type RosterAgent } from './agent-roster.js';
import type { GatewayXmppConfig } from './gateway-xmpp.config.js';
import { ImSignals } from './im-signals.service.js';
import { bare, chat, errorReply, hasResource, inWords } from './xmpp-stanzas.js';
import { XmppComponent } from './xmpp-component.service.js';

interface Explanation {
  offers: { offerId: string; agentId: string; outcome: string }[];
}

/**
 * Agents who work from their own XMPP client: their presence is their state (available; away, xa and dnd are
 * away; offline), offers arrive as chats from the session address and are answered "accept" or "reject" there,
 * and each conversation is its own chat window. "/end" ends the conversation. Agents only ever see session
 * addresses, customers never see an agent's JID.
 */
@Injectable()
export class AgentChannel implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('AgentChannel');
  private readonly present = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly xmpp: XmppComponent,
    private readonly roster: AgentRoster,
    private readonly signals: ImSignals,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayXmppConfig,
  ) {}

  onModuleInit(): void {
    this.xmpp.onStanza(async (stanza) => {
      const agent = this.roster.byBareJid(bare(stanza.attrs.from));
      if (!agent || stanza.attrs.type === 'error') return;
      // An agent's stanza starts a trace (their reply to a customer, an accepted offer, ...).
      const attributes = { 'parley.channel': 'xmpp', 'parley.agent.id': agent.agentId };
      if (stanza.is('presence')) await traced('xmpp agent presence', { kind: SpanKind.SERVER, attributes }, () => this.presence(stanza, agent));
      else if (stanza.is('message')) await traced('xmpp agent message', { kind: SpanKind.SERVER, attributes }, () => this.message(stanza, agent));
    });
  }

  private async login(agent: RosterAgent): Promise<void> {
    await natsRequest(this.nc, asActorSubject(SUBJECTS.agentLogin, agent.agentId), agentLoginPayload(agent, this.config.AGENT_LEASE_SECONDS));
    if (!this.present.has(agent.agentId)) {
      // The lease is renewed while the agent's client is online; a lost gateway lets it run out.
      const beat = setInterval(
        () => {
          natsRequest(this.nc, asActorSubject(SUBJECTS.agentHeartbeat, agent.agentId), { agentId: agent.agentId }).catch(() => this.login(agent).catch(() => undefined));
        },
        (this.config.AGENT_LEASE_SECONDS * 1000) / 3,
      );
      this.present.set(agent.agentId, beat);
    }
  }

  private async presence(stanza: Element, agent: RosterAgent): Promise<void> {
    const type = stanza.attrs.type;
    if (type === 'subscribe') {
      await this.xmpp.send(xml('presence', { type: 'subscribed', from: stanza.attrs.to, to: bare(stanza.attrs.from) }));
      await this.xmpp.send(xml('presence', { from: stanza.attrs.to, to: bare(stanza.attrs.from) }, xml('status', {}, 'Parley desk')));
      return;
    }
    if (type === 'probe') {
      await this.xmpp.send(xml('presence', { from: stanza.attrs.to, to: stanza.attrs.from }, xml('status', {}, 'Parley desk')));
      return;
    }
    if (type === 'unavailable') {
      if (!hasResource(stanza.attrs.from)) return;
      clearInterval(this.present.get(agent.agentId));
      this.present.delete(agent.agentId);
      await natsRequest(this.nc, asActorSubject(SUBJECTS.agentState, agent.agentId), { agentId: agent.agentId, state: 'offline' }).catch(() => undefined);
      return;
    }
    if (type !== undefined) return;
    const show = stanza.getChildText('show');
    await this.login(agent);
    const away = show === 'away' || show === 'xa' || show === 'dnd';
    if (away) {
      await natsRequest(this.nc, asActorSubject(SUBJECTS.agentState, agent.agentId), { agentId: agent.agentId, state: 'away', reason: stanza.getChildText('status') ?? show });
    } else {
      await natsRequest(this.nc, asActorSubject(SUBJECTS.agentState, agent.agentId), { agentId: agent.agentId, state: 'available' });
    }
    // The desk answers, so the agent's client shows it online and the agent sees the state Parley took.
    const status = away ? 'Parley desk: you are away; no offers until you are available.' : 'Parley desk: you are available; offers arrive as chats.';
    await this.xmpp.send(xml('presence', { from: stanza.attrs.to, to: stanza.attrs.from }, xml('status', {}, status)));
  }

  private async message(stanza: Element, agent: RosterAgent): Promise<void> {
    const body = stanza.getChildText('body');
    const sessionAddress = bare(stanza.attrs.to);
    const sessionId = sessionIdFromAddress(sessionAddress);
    const me = bare(stanza.attrs.from);
    if (body === null) {
      // Chat states and receipts: relayed to the customer, never stored.
      if (sessionId) this.signals.signal(stanza, 'agent', me, sessionId);
      return;
    }
    const confirm = (text: string) => this.xmpp.send(chat(sessionAddress, agent.jid, text, `${stanza.attrs.id || randomUUID()}.confirm`));
    try {
      if (!sessionId) throw notFound('write in the chat of a conversation (its session address)');
      const word = body.trim().toLowerCase();
      if (word === 'accept' || word === 'reject') {
        const offerId = await this.pendingOffer(agent.agentId, sessionId);
        if (word === 'accept') {
          await natsRequest(this.nc, asActorSubject(SUBJECTS.agentOfferAccept, agent.agentId), { agentId: agent.agentId, offerId });
          this.signals.linkAgent(sessionId, me);
          await confirm('Accepted: you are in the conversation. Write here to answer; "/end" ends it.');
        } else {
          await natsRequest(this.nc, asActorSubject(SUBJECTS.agentOfferReject, agent.agentId), { agentId: agent.agentId, offerId, reason: 'rejected in the XMPP client' });
          await confirm('Rejected: the conversation goes to someone else.');
        }
        return;
      }
      if (word === '/end') {
        await natsRequest(this.nc, asActorSubject(SUBJECTS.agentSessionEnd, agent.agentId), { agentId: agent.agentId, sessionId });
        this.signals.unlinkAgent(sessionId);
        await confirm('You ended the conversation. The customer has been told.');
        return;
      }
      const undo = this.signals.forwarding(stanza, 'agent', me, sessionId, sessionAddress, body);
      await natsRequest(this.nc, asActorSubject(SUBJECTS.agentMessage, agent.agentId), { agentId: agent.agentId, sessionId, messageId: stanza.attrs.id || randomUUID(), body }).catch(
        (err: unknown) => {
          undo();
          throw err;
        },
      );
      this.signals.linkAgent(sessionId, me);
    } catch (err) {
      const e = toParleyError(err);
      this.logger.log({ msg: 'agent message refused', id: stanza.attrs.id, code: e.code, reason: e.message, cause: String((e as Error & { cause?: unknown }).cause ?? '') });
      await this.xmpp.send(errorReply(stanza, e.code, e.message));
    }
  }

  /** The agent's offer still pending for this session, from the session's own record (survives restarts). */
  private async pendingOffer(agentId: string, sessionId: string): Promise<string> {
    const why = await natsRequest<Explanation>(this.nc, SUBJECTS.supervisorSessionExplain, { sessionId });
    const offer = why.offers.find((o) => o.agentId === agentId && o.outcome === 'pending');
    if (!offer) throw notFound('no offer of this conversation is waiting for you');
    return offer.offerId;
  }

  /** A delivery to a roster agent, as a chat from the session address; undefined for agents not on XMPP. */
  stanzaFor(agentId: string, d: AgentDelivery): Element | undefined {
    const agent = this.roster.byAgentId(agentId);
    if (!agent) return undefined;
    // The agent's address for the session is always on this component's domain, derived from the session ID,
    // whatever channel the customer came from (a web customer's session address is on another domain, which this
    // component cannot send from); for an XMPP customer it is the same address the customer writes to.
    const from = sessionAddressFor(d.sessionId, `desk@${this.xmpp.domain}`);
    switch (d.kind) {
      case 'offer': {
        const c = d.customer;
        const client = c?.client ? (c.client.version && c.client.version !== 'unknown' ? `${c.client.name} ${c.client.version}` : c.client.name) : 'client not identified';
        const answers = Object.entries(c?.answers ?? {})
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ');
        const deadline = d.expiresAt ? ` within ${inWords((Date.parse(d.expiresAt) - Date.now()) / 1000)}` : '';
        const text = `New conversation waiting (${c?.channel ?? 'unknown'}, ${client}${c?.locale ? `, ${c.locale}` : ''}).${answers ? ` Answers: ${answers}.` : ''} Reply "accept" or "reject"${deadline}.`;
        return chat(from, agent.jid, text, d.deliveryId);
      }
      case 'message': {
        this.signals.linkAgent(d.sessionId, agent.jid);
        const receipt = d.author === 'customer' ? this.signals.requestFor('customer', d.sessionId, d.body ?? '', d.deliveryId, agent.jid) : [];
        return chat(from, agent.jid, d.author === 'agent' ? `(earlier agent) ${d.body ?? ''}` : (d.body ?? ''), d.deliveryId, ...receipt);
      }
      case 'session-ended':
        this.signals.unlinkAgent(d.sessionId);
        return chat(from, agent.jid, `The conversation has ended (${d.body ?? 'ended'}).`, d.deliveryId);
      case 'offer-revoked':
        return chat(from, agent.jid, `The offer was withdrawn (${d.body ?? 'withdrawn'}).`, d.deliveryId);
      default:
        return undefined;
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const beat of this.present.values()) clearInterval(beat);
    this.present.clear();
  }
}

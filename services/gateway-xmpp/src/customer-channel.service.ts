import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Element, xml } from '@xmpp/component';
import { type CustomerDelivery, SUBJECTS, type SessionLookupReply, type SubscribeReply, asActorSubject } from '@parley/contracts';
import { sessionIdFromAddress } from '@parley/domain';
import { ParleyError, toParleyError } from '@parley/errors';
import { NATS_CONNECTION, SERVICE_CONFIG, SpanKind, natsRequest, traced, tracingEnabled } from '@parley/service-kit';
import { randomUUID } from 'node:crypto';
import { AgentRoster } from './agent-roster.js';
import type { GatewayXmppConfig } from './gateway-xmpp.config.js';
import { ImSignals } from './im-signals.service.js';
import { NS_SESSION, NS_STATUS, bare, chat, errorReply, hasResource, nick } from './xmpp-stanzas.js';
import { XmppComponent } from './xmpp-component.service.js';

export const CHANNEL = 'xmpp';

/** Well-known disco features, named as Parley's routing capabilities. */
const FEATURE_NAMES: Record<string, string> = {
  'http://jabber.org/protocol/xhtml-im': 'xhtml-im',
  'http://jabber.org/protocol/si/profile/file-transfer': 'file-transfer',
  'urn:xmpp:jingle:apps:file-transfer:5': 'file-transfer',
  'urn:xmpp:http:upload:0': 'http-upload',
  'http://jabber.org/protocol/chatstates': 'chat-states',
  'urn:xmpp:receipts': 'receipts',
};

interface Pending {
  locale: string | null;
  timer: NodeJS.Timeout;
}

/**
 * Customers on XMPP: a presence subscription to a published address opens a session (after asking the client
 * who it is: XEP-0092 version, XEP-0030/0115 capabilities); messages to the session address go to Parley;
 * unsubscribing, or going offline, ends the session.
 */
@Injectable()
export class CustomerChannel implements OnModuleInit {
  private readonly logger = new Logger('CustomerChannel');
  private readonly pending = new Map<string, Pending>();
  /** Each published address's display name (its entry point's), and each session's, for XEP-0172 nicks. */
  private readonly entryNames = new Map<string, string>();
  private readonly sessionNames = new Map<string, string>();

  constructor(
    private readonly xmpp: XmppComponent,
    private readonly roster: AgentRoster,
    private readonly signals: ImSignals,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayXmppConfig,
  ) {}

  onModuleInit(): void {
    this.xmpp.onStanza((stanza) => this.handle(stanza));
  }

  private ours(jid: string): boolean {
    return bare(jid).endsWith(`@${this.xmpp.domain}`);
  }

  private async handle(stanza: Element): Promise<void> {
    const from = stanza.attrs.from ?? '';
    const to = stanza.attrs.to ?? '';
    if (this.roster.byBareJid(bare(from)) || !this.ours(to) || stanza.attrs.type === 'error') return;
    if (stanza.is('presence')) return this.traced('presence', stanza, () => this.presence(stanza, bare(from), bare(to)));
    if (stanza.is('message')) return this.traced('message', stanza, () => this.message(stanza, bare(from), bare(to)));
    if (stanza.is('iq') && (stanza.attrs.type === 'get' || stanza.attrs.type === 'set')) {
      await this.xmpp.send(errorReply(stanza, 'unavailable', 'not supported here')).catch(() => undefined);
    }
  }

  /** A customer's stanza starts a trace (the customer's address stays out of it). */
  private traced(kind: 'presence' | 'message', stanza: Element, fn: () => Promise<void>): Promise<void> {
    if (!tracingEnabled()) return fn();
    const attributes = {
      'parley.channel': CHANNEL,
      'parley.stanza.type': stanza.attrs.type ?? 'normal',
      ...(kind === 'message' ? { 'parley.session.id': sessionIdFromAddress(stanza.attrs.to ?? '') ?? '' } : {}),
    };
    return traced(`xmpp customer ${kind}`, { kind: SpanKind.SERVER, attributes }, fn);
  }

  private async presence(stanza: Element, customer: string, address: string): Promise<void> {
    if (sessionIdFromAddress(address)) return; // presence to a session address carries no meaning
    const key = `${customer}\n${address}`;
    switch (stanza.attrs.type) {
      case 'subscribe': {
        const name = await this.entryName(address);
        await this.xmpp.send(xml('presence', { type: 'subscribed', from: address, to: customer }, ...nick(name)));
        await this.xmpp.send(xml('presence', { from: address, to: customer }, ...nick(name)));
        // Asking back makes the customer's server send us their presence from their full JID, so the client can
        // be asked who it is; if it never comes, the session opens without client details.
        await this.xmpp.send(xml('presence', { type: 'subscribe', from: address, to: customer }));
        clearTimeout(this.pending.get(key)?.timer);
        const locale = stanza.attrs['xml:lang'] ?? null;
        this.pending.set(key, { locale, timer: setTimeout(() => void this.open(customer, address, null, locale, key), this.config.CLIENT_INFO_TIMEOUT_MS) });
        return;
      }
      case undefined: {
        const pending = this.pending.get(key);
        if (!pending || !hasResource(stanza.attrs.from)) return;
        clearTimeout(pending.timer);
        this.pending.delete(key);
        const client = await this.identify(stanza.attrs.from!, address, stanza);
        await this.open(customer, address, client, pending.locale, key);
        return;
      }
      case 'probe':
        await this.xmpp.send(xml('presence', { from: address, to: customer }, ...nick(this.entryNames.get(address))));
        return;
      case 'unsubscribe':
        await this.xmpp.send(xml('presence', { type: 'unsubscribed', from: address, to: customer }));
        await this.leave(customer, address);
        return;
      case 'unavailable':
        // Servers answer probes with a bare-JID unavailable; only a resource going offline means the customer left.
        if (hasResource(stanza.attrs.from)) await this.leave(customer, address);
        return;
      default:
        return;
    }
  }

  /** Asks the client its software version and features; whatever does not answer in time stays unknown. */
  private async identify(fullJid: string, address: string, presence: Element): Promise<{ name: string; version: string; capabilities: string[] } | null> {
    const timeout = Math.max(500, this.config.CLIENT_INFO_TIMEOUT_MS);
    const [version, disco] = await Promise.allSettled([
      this.xmpp.request(xml('iq', { type: 'get', to: fullJid, from: address }, xml('query', { xmlns: 'jabber:iq:version' })), timeout),
      (() => {
        const caps = presence.getChild('c', 'http://jabber.org/protocol/caps');
        const node = caps?.attrs.node && caps.attrs.ver ? `${caps.attrs.node}#${caps.attrs.ver}` : undefined;
        return this.xmpp.request(xml('iq', { type: 'get', to: fullJid, from: address }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info', node })), timeout);
      })(),
    ]);
    if (version.status === 'rejected' || disco.status === 'rejected') {
      this.logger.log({
        msg: 'client did not say who it is',
        jid: fullJid,
        version: version.status === 'rejected' ? String(version.reason) : 'ok',
        disco: disco.status === 'rejected' ? String(disco.reason) : 'ok',
      });
    }
    // The iq result wraps the answer in its query element.
    const query = version.status === 'fulfilled' ? version.value.getChild('query', 'jabber:iq:version') : undefined;
    const name = query?.getChildText('name') ?? null;
    const info = disco.status === 'fulfilled' ? disco.value.getChild('query', 'http://jabber.org/protocol/disco#info') : undefined;
    const features = (info?.getChildren('feature') ?? []).map((f) => f.attrs.var ?? '').filter(Boolean);
    if (!name && features.length === 0) return null;
    const capabilities = [...new Set([...features.map((f) => FEATURE_NAMES[f]).filter((x): x is string => !!x), ...features])].slice(0, 100).map((c) => c.slice(0, 200));
    return { name: (name ?? 'unknown').slice(0, 100), version: (query?.getChildText('version') ?? 'unknown').slice(0, 50), capabilities };
  }

  private async open(customer: string, address: string, client: { name: string; version: string; capabilities: string[] } | null, locale: string | null, key: string): Promise<string | null> {
    this.pending.delete(key);
    let reply: SubscribeReply;
    try {
      reply = await natsRequest<SubscribeReply>(this.nc, asActorSubject(SUBJECTS.imSubscribe, CHANNEL), {
        channel: CHANNEL,
        from: customer,
        to: address,
        ...(client ? { client } : {}),
        ...(locale ? { locale } : {}),
      });
    } catch (err) {
      this.logger.warn({ msg: 'subscribe failed', customer, address, err: String(err) });
      await this.xmpp.send(xml('presence', { type: 'unavailable', from: address, to: customer }, xml('status', {}, 'Temporarily unavailable, please try again.')));
      return null;
    }
    if (reply.status !== 'available' || !reply.sessionAddress || !reply.sessionId) {
      const text =
        reply.message ?? ({ 'not-registered': 'This address is not in service.', closed: 'We are closed.', overloaded: 'We are very busy right now.' } as const)[reply.reason ?? 'not-registered'];
      await this.xmpp.send(xml('presence', { type: 'unavailable', from: address, to: customer }, xml('status', {}, text)));
      await this.xmpp.send(chat(address, customer, text));
      return null;
    }
    const name = this.entryNames.get(address) ?? (await this.entryName(address));
    if (name) this.remember(this.sessionNames, reply.sessionId, name);
    this.signals.linkCustomer(reply.sessionId, customer, reply.sessionAddress);
    const text = `${reply.message ? `${reply.message}\n` : ''}Please write to ${reply.sessionAddress}: that is your conversation with us.`;
    await this.xmpp.send(chat(address, customer, text, `${reply.sessionId}.welcome`, xml('session', { xmlns: NS_SESSION, id: reply.sessionId, address: reply.sessionAddress, name }), ...nick(name)));
    return reply.sessionAddress;
  }

  private async leave(customer: string, address: string): Promise<void> {
    const key = `${customer}\n${address}`;
    if (this.pending.has(key)) {
      clearTimeout(this.pending.get(key)!.timer);
      this.pending.delete(key);
      return;
    }
    // Looked up, not subscribed again: a lookup never opens a session when the customer has none open.
    const reply = await natsRequest<SessionLookupReply>(this.nc, asActorSubject(SUBJECTS.imSessionLookup, CHANNEL), { channel: CHANNEL, from: customer, to: address }).catch((err: unknown) => {
      this.logger.warn({ msg: 'session lookup failed', err: String(err) });
      return null;
    });
    if (reply?.open && reply.sessionAddress) {
      await natsRequest(this.nc, asActorSubject(SUBJECTS.imUnsubscribe, CHANNEL), { channel: CHANNEL, from: customer, to: reply.sessionAddress }).catch((err: unknown) =>
        this.logger.warn({ msg: 'unsubscribe failed', err: String(err) }),
      );
    }
  }

  private async message(stanza: Element, customer: string, address: string): Promise<void> {
    const body = stanza.getChildText('body');
    const sessionId = sessionIdFromAddress(address);
    if (body === null) {
      // Chat states and receipts carry no words: relayed to the agent, never stored.
      if (sessionId) this.signals.signal(stanza, 'customer', customer, sessionId);
      return;
    }
    if (!sessionId) {
      // A customer writes to the published address: into their open session, or a new one, for which the
      // client is asked who it is first, as on a subscription, so the agent's offer names it.
      const open = await natsRequest<SessionLookupReply>(this.nc, asActorSubject(SUBJECTS.imSessionLookup, CHANNEL), { channel: CHANNEL, from: customer, to: address }).catch(() => null);
      let sessionAddress = open?.open ? (open.sessionAddress ?? null) : null;
      if (!sessionAddress) {
        const client = hasResource(stanza.attrs.from) ? await this.identify(stanza.attrs.from!, address, stanza) : null;
        sessionAddress = await this.open(customer, address, client, stanza.attrs['xml:lang'] ?? null, `${customer}\n${address}`);
      }
      if (sessionAddress) await this.forward(stanza, customer, sessionAddress, body);
      return;
    }
    await this.forward(stanza, customer, address, body);
  }

  private remember(map: Map<string, string>, key: string, value: string): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > 50_000) map.delete(map.keys().next().value as string);
  }

  /** The entry point's display name for a published address (registration's lookup), remembered for nicks. */
  private async entryName(address: string): Promise<string | undefined> {
    try {
      const found = await natsRequest<{ registered: boolean; displayName?: string | null }>(this.nc, SUBJECTS.registrationLookup, { address }, 2_000);
      if (found.registered && found.displayName) this.remember(this.entryNames, address, found.displayName);
    } catch {
      // no name then: the nick is a courtesy
    }
    return this.entryNames.get(address);
  }

  private async forward(stanza: Element, customer: string, sessionAddress: string, body: string): Promise<void> {
    const sessionId = sessionIdFromAddress(sessionAddress);
    const undo = sessionId ? this.signals.forwarding(stanza, 'customer', customer, sessionId, sessionAddress, body) : () => undefined;
    try {
      await natsRequest(this.nc, asActorSubject(SUBJECTS.imMessage, CHANNEL), { messageId: stanza.attrs.id || randomUUID(), channel: CHANNEL, from: customer, to: sessionAddress, body });
      // Parley checked the sender owns the session: from now on their typing and receipts are relayed.
      if (sessionId) this.signals.linkCustomer(sessionId, customer, sessionAddress);
    } catch (err) {
      undo();
      const e = toParleyError(err);
      this.logger.log({ msg: 'customer message refused', id: stanza.attrs.id, code: e.code, reason: e.message, cause: String((e as Error & { cause?: unknown }).cause ?? '') });
      await this.xmpp.send(errorReply(stanza, e.code, e instanceof ParleyError ? e.message : 'error'));
    }
  }

  /**
   * A delivery to a customer, as a chat message from the session address: the agent's display name as the nick
   * of their words (XEP-0172), the entry point's name on Parley's own, and a receipt request when the agent asked.
   */
  stanzaFor(d: CustomerDelivery): Element {
    this.signals.linkCustomer(d.sessionId, d.to, d.from);
    const extra =
      d.kind === 'status' && d.status ? [xml('queue-status', { xmlns: NS_STATUS, position: String(d.status.position), 'estimated-wait-seconds': String(d.status.estimatedWaitSeconds) })] : [];
    const name = d.kind === 'text' && d.agentName ? d.agentName : this.sessionNames.get(d.sessionId);
    const receipt = d.kind === 'text' ? this.signals.requestFor('agent', d.sessionId, d.body, d.deliveryId, d.to) : [];
    return chat(d.from, d.to, d.body, d.deliveryId, ...extra, ...nick(name), ...receipt);
  }
}

import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { type Element, xml } from '@xmpp/component';
import { sessionAddressFor } from '@parley/domain';
import { NATS_CONNECTION } from '@parley/service-kit';
import { NS_CHAT_STATES, NS_RECEIPTS } from './xmpp-stanzas.js';
import { XmppComponent } from './xmpp-component.service.js';

/** `parley.v1.typing.{sessionId}` (core NATS, ephemeral), shared with the web channel. */
export const TYPING_SUBJECT = 'parley.v1.typing';
const CHAT_STATES = ['active', 'composing', 'paused', 'inactive', 'gone'] as const;
type ChatState = (typeof CHAT_STATES)[number];
interface Typing {
  sessionId: string;
  by: 'customer' | 'agent';
  /** Added in v1: the XEP-0085 state; absent means composing. */
  state?: ChatState;
}
interface ReceiptTarget {
  /** Whose client must confirm (the other side's bare JID). */
  expect: string;
  /** Who asked for the receipt, the session address it wrote to, and the id of its message. */
  to: string;
  from: string;
  id: string;
}

const LIMIT = 50_000;
const remember = <K, V>(map: Map<K, V>, key: K, value: V) => {
  map.delete(key);
  map.set(key, value);
  if (map.size > LIMIT) map.delete(map.keys().next().value as K);
};

/**
 * What IM users expect beyond words, relayed between the two sides of a session when both are on this gateway:
 * typing notifications (XEP-0085 chat states, through `parley.v1.typing.*`, so a web agent sees an XMPP customer
 * type too) and delivery receipts (XEP-0184: a receipt reaches the sender when the other side's client confirms).
 * The gateway remembers which XMPP customer and agent each session has from what passes through it; after a
 * restart it learns them again from the next message or delivery. Signals are best effort: nothing is stored.
 */
@Injectable()
export class ImSignals implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ImSignals');
  private readonly customers = new Map<string, { jid: string; address: string }>();
  private readonly agents = new Map<string, string>();
  private readonly pending = new Map<string, ReceiptTarget[]>();
  private readonly receipts = new Map<string, ReceiptTarget>();
  private typing?: Subscription;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly xmpp: XmppComponent,
  ) {}

  onApplicationBootstrap(): void {
    this.typing = this.nc.subscribe(`${TYPING_SUBJECT}.*`, {
      callback: (err, msg) => {
        if (err) return;
        let t: Typing;
        try {
          t = msg.json<Typing>();
        } catch {
          return;
        }
        const state = t.state && CHAT_STATES.includes(t.state) ? t.state : 'composing';
        const customer = this.customers.get(t.sessionId);
        const agent = this.agents.get(t.sessionId);
        // To the XMPP customer from their session address; to the XMPP agent from the session's address on this
        // domain (the agent's chat window), whatever channel the customer is on.
        const to = t.by === 'agent' ? customer?.jid : agent;
        const from = t.by === 'agent' ? customer?.address : (customer?.address ?? sessionAddressFor(t.sessionId, `desk@${this.xmpp.domain}`));
        if (!to || !from) return;
        this.xmpp.send(xml('message', { type: 'chat', from, to }, xml(state, { xmlns: NS_CHAT_STATES }))).catch(() => undefined);
      },
    });
  }

  beforeApplicationShutdown(): void {
    this.typing?.unsubscribe();
  }

  linkCustomer(sessionId: string, jid: string, address: string): void {
    remember(this.customers, sessionId, { jid: jid.toLowerCase(), address });
  }

  linkAgent(sessionId: string, jid: string): void {
    remember(this.agents, sessionId, jid.toLowerCase());
  }

  unlinkAgent(sessionId: string): void {
    this.agents.delete(sessionId);
  }

  /** A body-less message to a session address (chat state, receipt) from its customer or its agent. */
  signal(stanza: Element, by: 'customer' | 'agent', sender: string, sessionId: string): void {
    const customer = this.customers.get(sessionId);
    const owner = by === 'customer' ? customer?.jid : this.agents.get(sessionId);
    const state = CHAT_STATES.find((s) => stanza.getChild(s, NS_CHAT_STATES));
    if (state && owner === sender) this.nc.publish(`${TYPING_SUBJECT}.${sessionId}`, JSON.stringify({ sessionId, by, state } satisfies Typing));
    const received = stanza.getChild('received', NS_RECEIPTS)?.attrs.id;
    const target = received ? this.receipts.get(received) : undefined;
    if (target && target.expect === sender) {
      this.receipts.delete(received!);
      this.xmpp.send(xml('message', { from: target.from, to: target.to, id: `receipt-${received}` }, xml('received', { xmlns: NS_RECEIPTS, id: target.id }))).catch(() => undefined);
    }
  }

  /**
   * A message with words goes into Parley (called before it is sent, so its delivery cannot come first): if its
   * sender asked for a receipt, the delivery to the other side asks for one too. Returns the undo for a refusal.
   */
  forwarding(stanza: Element, by: 'customer' | 'agent', sender: string, sessionId: string, sessionAddress: string, body: string): () => void {
    const id = stanza.attrs.id;
    if (!id || !stanza.getChild('request', NS_RECEIPTS)) return () => undefined;
    const key = `${sessionId}\n${by}\n${body}`;
    const target: ReceiptTarget = { expect: '', to: sender, from: sessionAddress, id };
    remember(this.pending, key, [...(this.pending.get(key) ?? []), target]);
    return () => {
      const left = (this.pending.get(key) ?? []).filter((t) => t !== target);
      if (left.length) this.pending.set(key, left);
      else this.pending.delete(key);
    };
  }

  /** For a delivery of words to `recipient`: a receipt request when the author asked for one. */
  requestFor(author: 'customer' | 'agent', sessionId: string, body: string, deliveryId: string, recipient: string): Element[] {
    const key = `${sessionId}\n${author}\n${body}`;
    const waiting = this.pending.get(key);
    const target = waiting?.shift();
    if (waiting && waiting.length === 0) this.pending.delete(key);
    if (!target) return [];
    remember(this.receipts, deliveryId, { ...target, expect: recipient.toLowerCase() });
    return [xml('request', { xmlns: NS_RECEIPTS })];
  }
}

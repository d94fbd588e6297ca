import { type Element, xml } from '@xmpp/component';
import type { ErrorCode } from '@parley/errors';

export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const NS_SESSION = 'urn:parley:session:0';
export const NS_STATUS = 'urn:parley:queue-status:0';
export const NS_CHAT_STATES = 'http://jabber.org/protocol/chatstates';
export const NS_RECEIPTS = 'urn:xmpp:receipts';
export const NS_NICK = 'http://jabber.org/protocol/nick';

export const bare = (jid: string | undefined) => (jid ?? '').split('/')[0]!.toLowerCase();
export const hasResource = (jid: string | undefined) => (jid ?? '').includes('/');

/** The contract's error codes as XMPP stanza errors (RFC 6120 §8.3). */
const CONDITIONS: Record<ErrorCode, [condition: string, type: string]> = {
  'invalid-payload': ['bad-request', 'modify'],
  'not-found': ['item-not-found', 'cancel'],
  forbidden: ['forbidden', 'auth'],
  conflict: ['conflict', 'cancel'],
  unavailable: ['service-unavailable', 'wait'],
  'rate-limited': ['policy-violation', 'wait'],
  internal: ['internal-server-error', 'wait'],
};

export function errorReply(stanza: Element, code: ErrorCode, text: string): Element {
  const [condition, type] = CONDITIONS[code];
  return xml(
    stanza.name,
    { type: 'error', from: stanza.attrs.to, to: stanza.attrs.from, id: stanza.attrs.id },
    xml('error', { type }, xml(condition, { xmlns: NS_STANZAS }), xml('text', { xmlns: NS_STANZAS }, text)),
  );
}

export function chat(from: string, to: string, body: string, id?: string, ...extra: Element[]): Element {
  return xml('message', { type: 'chat', from, to, id }, xml('body', {}, body), ...extra);
}

/** XEP-0172: the name the sender goes by (an agent's display name, an entry point's name). */
export const nick = (name: string | undefined | null): Element[] => (name ? [xml('nick', { xmlns: NS_NICK }, name)] : []);

/** "25 s", "2 min", "1 h 5 min": a deadline a person reads at a glance. */
export function inWords(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

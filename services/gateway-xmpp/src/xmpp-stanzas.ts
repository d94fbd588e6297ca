import { type Element, xml } from '@xmpp/component';
import type { ErrorCode } from '@parley/errors';

export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const NS_SESSION = 'urn:parley:session:0';
export const NS_STATUS = 'urn:parley:queue-status:0';

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

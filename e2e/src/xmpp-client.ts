import { client, xml } from '@xmpp/client';
import { until } from './parley-stack.js';

type Stanza = ReturnType<typeof xml>;

/** A real XMPP user (customer or agent) on the test Prosody, with what it received and the errors it got back. */
export class XmppUser {
  readonly stanzas: Stanza[] = [];
  private readonly xmpp: ReturnType<typeof client>;

  constructor(
    readonly jid: string,
    port: number,
    host: string,
    password: string,
    software = { name: 'Gajim', version: '1.8.4', features: ['http://jabber.org/protocol/xhtml-im', 'http://jabber.org/protocol/chatstates'] },
  ) {
    this.xmpp = client({ service: `xmpp://127.0.0.1:${port}`, domain: host, username: jid.split('@')[0], password, resource: 'desktop' });
    this.xmpp.on('error', () => undefined);
    this.xmpp.iqCallee.get('jabber:iq:version', 'query', () => xml('query', { xmlns: 'jabber:iq:version' }, xml('name', {}, software.name), xml('version', {}, software.version)));
    this.xmpp.iqCallee.get('http://jabber.org/protocol/disco#info', 'query', () =>
      xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }, ...software.features.map((f) => xml('feature', { var: f }))),
    );
    this.xmpp.on('stanza', (st: Stanza) => {
      this.stanzas.push(st);
      // Approve whoever asks for our presence, as a person would in their client's dialog.
      if (st.is('presence') && st.attrs.type === 'subscribe') void this.xmpp.send(xml('presence', { type: 'subscribed', to: st.attrs.from }));
    });
  }

  async start(): Promise<void> {
    await this.xmpp.start();
    await this.xmpp.send(xml('iq', { type: 'get', id: 'roster' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    await this.xmpp.send(xml('presence'));
  }

  send(stanza: Stanza): Promise<void> {
    return this.xmpp.send(stanza);
  }

  say(to: string, body: string, id?: string): Promise<void> {
    return this.xmpp.send(xml('message', { type: 'chat', to, id }, xml('body', {}, body)));
  }

  messages(from?: string): Stanza[] {
    return this.stanzas.filter((s) => s.is('message') && s.attrs.type !== 'error' && s.getChildText('body') !== null && (!from || s.attrs.from?.split('/')[0] === from));
  }

  errors(): Stanza[] {
    return this.stanzas.filter((s) => s.attrs.type === 'error');
  }

  waitForMessage(predicate: (body: string, s: Stanza) => boolean, what: string, timeoutMs = 20_000): Promise<Stanza> {
    return until(() => this.messages().find((s) => predicate(s.getChildText('body') ?? '', s)), what, timeoutMs);
  }

  async stop(): Promise<void> {
    await this.xmpp.stop().catch(() => undefined);
  }
}

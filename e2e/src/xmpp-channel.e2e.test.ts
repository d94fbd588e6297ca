import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { type CustomerDelivery, SUBJECTS, imDeliverSubject } from '@parley/contracts';
import { type ProsodyHandle, type ServiceHandle, startProsody } from '@parley/testing';
import { xml } from '@xmpp/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ParleyStack, until } from './parley-stack.js';
import { XmppUser } from './xmpp-client.js';

let stack: ParleyStack;
let prosody: ProsodyHandle;
let gateway: ServiceHandle;
let gatewayEnv: Record<string, string>;
let alice: XmppUser;
let bob: XmppUser;
let agent: XmppUser;
let carol: XmppUser;
const DOMAIN = 'parley.example.test';
const SUPPORT = `support@${DOMAIN}`;
const NS_CHAT_STATES = 'http://jabber.org/protocol/chatstates';
const NS_RECEIPTS = 'urn:xmpp:receipts';
const NS_NICK = 'http://jabber.org/protocol/nick';

beforeAll(async () => {
  prosody = await startProsody({ componentDomain: DOMAIN, users: ['alice', 'bob', 'ada', 'carol'].map((user) => ({ user, password: 'pw' })) });
  stack = await ParleyStack.start({ OFFER_TIMEOUT_SECONDS: '60', ROUTING_TICK_MS: '100', STATUS_INTERVAL_SECONDS: '60' });
  const roster = join(mkdtempSync(join(tmpdir(), 'parley-xmpp-')), 'agents.yaml');
  writeFileSync(roster, stringify({ agents: [{ jid: `ada@${prosody.host}`, agentId: 'xmpp-ada', displayName: 'Ada', capacity: 1, queues: ['xq'], capabilities: ['text', 'xhtml-im'] }] }));
  gatewayEnv = {
    XMPP_COMPONENT_SERVICE: `xmpp://127.0.0.1:${prosody.componentPort}`,
    XMPP_COMPONENT_DOMAIN: DOMAIN,
    XMPP_COMPONENT_SECRET: prosody.componentSecret,
    XMPP_AGENTS_FILE: roster,
    CLIENT_INFO_TIMEOUT_MS: '3000',
  };
  gateway = await stack.launchExtra('gateway-xmpp', gatewayEnv);
  await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'xmpp-support', address: SUPPORT, displayName: 'Acme support', queueId: 'xq', leaseSeconds: 600 });
  alice = new XmppUser(`alice@${prosody.host}`, prosody.c2sPort, prosody.host, 'pw');
  bob = new XmppUser(`bob@${prosody.host}`, prosody.c2sPort, prosody.host, 'pw', { name: 'Psi+', version: '1.5', features: [] });
  agent = new XmppUser(`ada@${prosody.host}`, prosody.c2sPort, prosody.host, 'pw', { name: 'Dino', version: '0.4', features: [] });
  carol = new XmppUser(`carol@${prosody.host}`, prosody.c2sPort, prosody.host, 'pw', { name: 'Conversations', version: '2.16.4', features: [] });
  await Promise.all([alice.start(), bob.start(), agent.start(), carol.start()]);
});

afterAll(async () => {
  await Promise.all([alice?.stop(), bob?.stop(), agent?.stop(), carol?.stop()]);
  await stack?.stop();
  await prosody?.stop();
});

const sessionAddressOf = (user: XmppUser) =>
  user
    .messages(SUPPORT)
    .map((m) => m.getChild('session', 'urn:parley:session:0'))
    .find(Boolean)?.attrs.address as string | undefined;

describe('customers and agents on XMPP', () => {
  it('subscribes, queues, offers to an XMPP agent who accepts by reply, and relays both ways without leaking JIDs', async () => {
    // The agent comes online from their own client: directed presence to the gateway's domain.
    await agent.send(xml('presence', { to: `desk@${DOMAIN}` }));
    await until(async () => (await stack.request<{ agentsAvailable: number }>('parley.v1.stats.queue.xq', {})).agentsAvailable === 1 || undefined, 'the XMPP agent to be available');

    await alice.send(xml('presence', { type: 'subscribe', to: SUPPORT }));
    await until(() => alice.stanzas.find((s) => s.is('presence') && s.attrs.type === 'subscribed' && s.attrs.from === SUPPORT), 'subscribed from the published address');
    const sessionAddress = await until(() => sessionAddressOf(alice), 'the session address in a machine-readable element');
    expect(sessionAddress).toMatch(new RegExp(`^s-[a-z2-7]{26}@${DOMAIN.replace(/\./g, '\\.')}$`));
    expect(alice.messages(SUPPORT)[0]!.getChildText('body')).toContain(sessionAddress);

    const offer = await agent.waitForMessage((b) => b.includes('New conversation waiting'), 'the offer at the agent');
    expect(offer.attrs.from).toBe(sessionAddress);
    expect(offer.getChildText('body')).toContain('Gajim 1.8.4');
    await alice.say(sessionAddress, 'Hello, my order is late.', 'alice-1');
    await agent.say(sessionAddress, 'accept');
    await agent.waitForMessage((b) => b === 'Hello, my order is late.', 'the queued message at the agent');
    await agent.say(sessionAddress, 'Sorry to hear that, let me check.', 'ada-1');
    const reply = await alice.waitForMessage((b) => b === 'Sorry to hear that, let me check.', 'the agent reply at the customer');
    expect(reply.attrs.from).toBe(sessionAddress);

    // A second customer waits and hears their position as text and as an element.
    await bob.send(xml('presence', { type: 'subscribe', to: SUPPORT }));
    const status = await until(() => bob.messages().find((m) => m.getChild('queue-status', 'urn:parley:queue-status:0')), 'a status message with the position');
    expect(status.getChild('queue-status', 'urn:parley:queue-status:0')!.attrs.position).toBe('0');
    expect(status.getChildText('body')).toContain('1st in the queue');

    const everythingAliceGot = alice.stanzas.map((s) => s.toString()).join('\n');
    expect(everythingAliceGot).not.toContain('ada@');
    expect(everythingAliceGot).not.toContain('xmpp-ada');
    expect(agent.stanzas.map((s) => s.toString()).join('\n')).not.toContain('alice@');
  });

  it('loses no message either way when the gateway restarts mid-conversation', async () => {
    // A restart is graceful (SIGTERM): the gateway finishes the stanzas in hand. While it is down, the XMPP server
    // bounces messages with an error, so a sender knows. (A SIGKILL can lose stanzas still in the component's
    // socket: XEP-0114 has no acknowledgements. Deliveries from Parley are safe either way: acked after sending.)
    const sessionAddress = sessionAddressOf(alice)!;
    const before = { agent: agent.messages(sessionAddress).length, alice: alice.messages(sessionAddress).length };
    for (let i = 0; i < 5; i++) await alice.say(sessionAddress, `customer burst ${i}`, `alice-burst-${i}`);
    for (let i = 0; i < 5; i++) await agent.say(sessionAddress, `agent burst ${i}`, `ada-burst-${i}`);
    expect(await gateway.stop()).toBe(0);
    await gateway.start();
    for (let i = 5; i < 8; i++) await alice.say(sessionAddress, `customer burst ${i}`, `alice-burst-${i}`);
    for (let i = 5; i < 8; i++) await agent.say(sessionAddress, `agent burst ${i}`, `ada-burst-${i}`);
    // Every message the server did not bounce back with an error reaches the other side.
    const bounced = (user: XmppUser) => new Set(user.errors().map((e) => e.attrs.id));
    const expectedAtAgent = Array.from({ length: 8 }, (_, i) => i)
      .filter((i) => !bounced(alice).has(`alice-burst-${i}`))
      .map((i) => `customer burst ${i}`);
    const expectedAtAlice = Array.from({ length: 8 }, (_, i) => i)
      .filter((i) => !bounced(agent).has(`ada-burst-${i}`))
      .map((i) => `agent burst ${i}`);
    // Lines sent while the gateway stops are either handled or bounced, depending on the machine's load; the
    // three sent after the restart are never bounced.
    expect(expectedAtAgent.length).toBeGreaterThanOrEqual(3);
    expect(expectedAtAlice.length).toBeGreaterThanOrEqual(3);
    await until(() => expectedAtAgent.every((b) => agent.messages(sessionAddress).some((m) => m.getChildText('body') === b)) || undefined, 'every customer line at the agent');
    await until(() => expectedAtAlice.every((b) => alice.messages(sessionAddress).some((m) => m.getChildText('body') === b)) || undefined, 'every agent line at the customer');
    expect(agent.messages(sessionAddress).length).toBeGreaterThan(before.agent);
    expect(alice.messages(sessionAddress).length).toBeGreaterThan(before.alice);
  });

  it('answers malformed stanzas and unknown session addresses with XMPP errors and changes nothing', async () => {
    const sessionAddress = sessionAddressOf(alice)!;
    const sessionId = sessionAddress.split('@')[0]!.slice(2);
    const version = (await stack.store.readStream({ aggregate: 'session', id: sessionId })).version;
    await alice.say(`s-AAAAAAAAAAAAAAAAAAAAAA@${DOMAIN}`, 'anyone there?', 'to-nowhere');
    await alice.say(sessionAddress, 'x'.repeat(20_000), 'too-long');
    const notFound = await until(() => alice.errors().find((e) => e.attrs.id === 'to-nowhere'), 'the error for an unknown session');
    expect(notFound.getChild('error')!.getChild('item-not-found', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeTruthy();
    const bad = await until(() => alice.errors().find((e) => e.attrs.id === 'too-long'), 'the error for a malformed message');
    expect(bad.getChild('error')!.getChild('bad-request', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeTruthy();
    await bob.say(sessionAddress, 'I am not alice', 'forged');
    const forbidden = await until(() => bob.errors().find((e) => e.attrs.id === 'forged'), 'the error for a stranger writing to a session');
    expect(forbidden.getChild('error')!.getChild('forbidden', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeTruthy();
    expect((await stack.store.readStream({ aggregate: 'session', id: sessionId })).version).toBe(version);
    expect(gateway.running).toBe(true);
  });

  it('ends the session when the customer unsubscribes', async () => {
    const sessionAddress = sessionAddressOf(alice)!;
    const sessionId = sessionAddress.split('@')[0]!.slice(2);
    await alice.send(xml('presence', { type: 'unsubscribe', to: SUPPORT }));
    await until(async () => (await stack.store.readStream({ aggregate: 'session', id: sessionId })).events.find((e) => e.type === 'SessionEnded'), 'the session to end');
    await agent.waitForMessage((b) => b.startsWith('The conversation has ended'), 'the end at the agent');
  });

  it('finds the open session on a logout or unsubscribe without opening one: after the end, leaving opens nothing', async () => {
    // bob still waits: the lookup finds his session and says so, without touching it.
    const bobsAddress = await until(
      () =>
        bob
          .messages(SUPPORT)
          .map((m) => m.getChild('session', 'urn:parley:session:0'))
          .find(Boolean)?.attrs.address,
      "bob's session address",
    );
    expect(await stack.request(SUBJECTS.imSessionLookup, { channel: 'xmpp', from: `bob@${prosody.host}`, to: SUPPORT })).toEqual({
      open: true,
      sessionId: bobsAddress!.split('@')[0]!.slice(2),
      sessionAddress: bobsAddress,
    });
    expect(await stack.request(SUBJECTS.imSessionLookup, { channel: 'xmpp', from: 'nobody@example.test', to: SUPPORT })).toEqual({ open: false });
    expect(await stack.request(SUBJECTS.imSessionLookup, { channel: 'xmpp', from: 'not an address', to: SUPPORT })).toMatchObject({
      error: { code: 'invalid-payload', message: 'invalid fields: from' },
    });

    // alice's conversation has ended (previous test). She unsubscribes again and logs out of a device.
    const aliceBare = `alice@${prosody.host}`;
    const seen: { subject: string; from: string }[] = [];
    // The gateway asks on its channel's own subjects (parley.v1.as.channel.xmpp.im.*): seen as the v1 subject.
    const record = (_err: unknown, m: { subject: string; json(): unknown }) =>
      seen.push({ subject: m.subject.replace('parley.v1.as.channel.xmpp.', 'parley.v1.'), from: (m.json() as { from: string }).from });
    const watch = stack.nc.subscribe('parley.v1.im.>', { callback: record });
    const watchBound = stack.nc.subscribe('parley.v1.as.channel.xmpp.im.>', { callback: record });
    // The server has both subscriptions before alice says anything: on a loaded machine the gateway's first lookup
    // once reached nats-server before this process had flushed them, and was missed.
    await stack.nc.flush();
    const sessionsBefore = new Set(
      alice
        .messages()
        .map((m) => m.attrs.from?.split('/')[0])
        .filter((a) => a?.startsWith('s-')),
    );
    await alice.send(xml('presence', { type: 'unsubscribe', to: SUPPORT }));
    await alice.send(xml('presence', { type: 'unavailable', to: SUPPORT }));
    await until(() => seen.filter((x) => x.subject === SUBJECTS.imSessionLookup && x.from === aliceBare).length >= 2 || undefined, 'two session lookups for alice');
    watch.unsubscribe();
    watchBound.unsubscribe();
    expect(seen.filter((x) => x.from === aliceBare).map((x) => x.subject)).not.toContain(SUBJECTS.imSubscribe);
    expect(seen.filter((x) => x.from === aliceBare).map((x) => x.subject)).not.toContain(SUBJECTS.imUnsubscribe);
    const sessionsAfter = new Set(
      alice
        .messages()
        .map((m) => m.attrs.from?.split('/')[0])
        .filter((a) => a?.startsWith('s-')),
    );
    expect(sessionsAfter).toEqual(sessionsBefore);
  });

  it('gives IM users what they expect: desk presence, names, offers in words, confirmations, receipts and typing both ways', async () => {
    const bobsAddress = sessionAddressOf(bob)!;
    // The desk answers the agent's presence, saying the state Parley took.
    const seen = agent.stanzas.length;
    await agent.send(xml('presence', { to: `desk@${DOMAIN}` }));
    const desk = await until(() => agent.stanzas.slice(seen).find((s) => s.is('presence') && s.attrs.from?.startsWith(`desk@${DOMAIN}`) && !s.attrs.type), "the desk to answer the agent's presence");
    expect(desk.getChildText('status')).toContain('you are available');
    // The session contact carries the entry point's name (XEP-0172 nick) on the welcome and the subscription.
    const welcome = bob.messages(SUPPORT)[0]!;
    expect(welcome.getChildText('nick', NS_NICK)).toBe('Acme support');
    expect(welcome.getChild('session', 'urn:parley:session:0')!.attrs.name).toBe('Acme support');
    expect(bob.stanzas.find((s) => s.is('presence') && s.attrs.type === 'subscribed' && s.attrs.from === SUPPORT)!.getChildText('nick', NS_NICK)).toBe('Acme support');

    // bob waited while alice talked; his offer names his client and gives the deadline in words.
    const offer = await agent.waitForMessage((b, s) => s.attrs.from === bobsAddress && b.startsWith('New conversation waiting'), "bob's offer at the agent", 30_000);
    expect(offer.getChildText('body')).toContain('Psi+ 1.5');
    expect(offer.getChildText('body')).toMatch(/Reply "accept" or "reject" within \d+ s\.$/);
    await agent.say(bobsAddress, 'accept', 'ada-accept');
    await agent.waitForMessage((b, s) => s.attrs.from === bobsAddress && b.startsWith('Accepted: you are in the conversation'), 'the confirmation of accept');

    // Receipts, customer to agent: the agent's client confirms, the customer gets the receipt for their id.
    await bob.send(xml('message', { type: 'chat', to: bobsAddress, id: 'bob-r1' }, xml('body', {}, 'Is anyone there?'), xml('request', { xmlns: NS_RECEIPTS })));
    const atAgent = await agent.waitForMessage((b, s) => s.attrs.from === bobsAddress && b === 'Is anyone there?', "bob's line at the agent");
    expect(atAgent.getChild('request', NS_RECEIPTS)).toBeTruthy();
    await agent.send(xml('message', { to: bobsAddress, id: 'ada-ack-1' }, xml('received', { xmlns: NS_RECEIPTS, id: atAgent.attrs.id })));
    const toBob = await until(() => bob.stanzas.find((s) => s.is('message') && s.getChild('received', NS_RECEIPTS)?.attrs.id === 'bob-r1'), 'the receipt at bob');
    expect(toBob.attrs.from).toBe(bobsAddress);

    // Agent to customer: the agent's display name as nick, and the receipt back to the agent.
    await agent.send(xml('message', { type: 'chat', to: bobsAddress, id: 'ada-r1' }, xml('body', {}, 'Yes, Ada here.'), xml('request', { xmlns: NS_RECEIPTS })));
    const atBob = await bob.waitForMessage((b) => b === 'Yes, Ada here.', "the agent's line at bob");
    expect(atBob.getChildText('nick', NS_NICK)).toBe('Ada');
    expect(atBob.getChild('request', NS_RECEIPTS)).toBeTruthy();
    await bob.send(xml('message', { to: bobsAddress, id: 'bob-ack-1' }, xml('received', { xmlns: NS_RECEIPTS, id: atBob.attrs.id })));
    await until(() => agent.stanzas.find((s) => s.is('message') && s.attrs.from === bobsAddress && s.getChild('received', NS_RECEIPTS)?.attrs.id === 'ada-r1'), 'the receipt at the agent');

    // Typing (XEP-0085), both ways, from the session address; a stranger's chat state goes nowhere.
    await bob.send(xml('message', { type: 'chat', to: bobsAddress }, xml('composing', { xmlns: NS_CHAT_STATES })));
    await until(() => agent.stanzas.find((s) => s.is('message') && s.attrs.from === bobsAddress && s.getChild('composing', NS_CHAT_STATES)), 'bob typing at the agent');
    await agent.send(xml('message', { type: 'chat', to: bobsAddress }, xml('paused', { xmlns: NS_CHAT_STATES })));
    await until(() => bob.stanzas.find((s) => s.is('message') && s.attrs.from === bobsAddress && s.getChild('paused', NS_CHAT_STATES)), 'the agent pausing at bob');
    await carol.send(xml('message', { type: 'chat', to: bobsAddress }, xml('gone', { xmlns: NS_CHAT_STATES })));
    await agent.send(xml('message', { type: 'chat', to: bobsAddress }, xml('active', { xmlns: NS_CHAT_STATES })));
    await until(() => bob.stanzas.find((s) => s.is('message') && s.attrs.from === bobsAddress && s.getChild('active', NS_CHAT_STATES)), 'the agent active at bob');
    expect(agent.stanzas.find((s) => s.getChild('gone', NS_CHAT_STATES))).toBeUndefined();

    await agent.say(bobsAddress, '/end', 'ada-end');
    await agent.waitForMessage((b, s) => s.attrs.from === bobsAddress && b.startsWith('You ended the conversation'), 'the confirmation of /end');
    await bob.waitForMessage((b) => b.startsWith('The conversation has ended'), 'the end at bob');

    // A customer who writes to the published address without subscribing: the offer still names the client.
    await carol.say(SUPPORT, 'Hello, a question about my bill.', 'carol-1');
    const carols = await agent.waitForMessage((b) => b.startsWith('New conversation waiting') && b.includes('Conversations 2.16.4'), "carol's offer naming her client", 30_000);
    expect(carols.getChildText('body')).not.toContain('unknown client');
  });

  it("lets an XMPP agent serve a web customer: the session has an address on the component's domain for the agent", async () => {
    // The agent finishes carol's conversation first (capacity 1).
    const carolsAddress = agent
      .messages()
      .filter((m) => m.getChildText('body')!.includes('Conversations 2.16.4'))
      .at(-1)!.attrs.from!;
    await agent.say(carolsAddress, 'accept', 'ada-accept-carol');
    await agent.waitForMessage((b, s) => s.attrs.from === carolsAddress && b.startsWith('Accepted'), 'the accept of carol');
    await agent.say(carolsAddress, '/end', 'ada-end-carol');
    await agent.waitForMessage((b, s) => s.attrs.from === carolsAddress && b.startsWith('You ended'), "the end of carol's conversation");

    await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'web-help', address: 'help@web.example.test', queueId: 'xq', leaseSeconds: 600 });
    const web = await stack.launchExtra('gateway-web', { WEB_JWT_SECRET: 'w'.repeat(40) });
    const api = async (path: string, body: unknown, token?: string) =>
      (
        await fetch(`http://127.0.0.1:${web.httpPort}/api/${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        })
      ).json() as Promise<Record<string, string>>;
    const webInbox = await stack.customerInbox('web');
    const started = await api('widget/sessions', { address: 'help@web.example.test' });
    expect(started.status).toBe('available');
    const forAgent = `s-${started.sessionId}@${DOMAIN}`;

    const offer = await agent.waitForMessage((b, s) => s.attrs.from === forAgent && b.startsWith('New conversation waiting'), "the web customer's offer at the XMPP agent", 30_000);
    expect(offer.getChildText('body')).toContain('(web, Parley web widget');
    expect(await api('widget/messages', { messageId: 'web-1', body: 'Hi from the web site' }, started.token)).toMatchObject({ accepted: true });
    await agent.say(forAgent, 'accept', 'ada-accept-web');
    await agent.waitForMessage((b, s) => s.attrs.from === forAgent && b === 'Hi from the web site', "the web customer's line at the XMPP agent");
    await agent.say(forAgent, 'Hello, web visitor.', 'ada-web-1');
    const atCustomer = await webInbox.waitFor((d) => d.sessionId === started.sessionId && d.kind === 'text' && d.body === 'Hello, web visitor.', "the XMPP agent's line at the web customer");
    expect(atCustomer.from).toBe(`s-${started.sessionId}@web.example.test`);
    expect(atCustomer.agentName).toBe('Ada');
    await agent.say(forAgent, '/end', 'ada-end-web');
    await agent.waitForMessage((b, s) => s.attrs.from === forAgent && b.startsWith('You ended'), 'the end of the web conversation');
    await webInbox.waitFor((d) => d.sessionId === started.sessionId && d.body.startsWith('The conversation has ended'), 'the end at the web customer');
    // Nothing reached the agent from the web domain, and the gateway kept its XMPP connection.
    expect(agent.stanzas.some((s) => s.attrs.from?.endsWith('@web.example.test'))).toBe(false);
    expect(agent.errors().filter((e) => e.attrs.id?.startsWith('ada-') && e.attrs.id.includes('web'))).toEqual([]);
    expect(gateway.running).toBe(true);
  });

  it('SIGKILL of the gateway: a line is stored, bounced, or lost only if the XMPP server handed it to the dead connection (window measured)', async () => {
    const sessionsOf = () =>
      carol
        .messages(SUPPORT)
        .map((m) => m.getChild('session', 'urn:parley:session:0')?.attrs.address)
        .filter(Boolean);
    const known = sessionsOf().length;
    await carol.send(xml('presence', { type: 'subscribe', to: SUPPORT }));
    const address = (await until(() => sessionsOf()[known], "carol's new session address"))!;
    const sessionId = address.split('@')[0]!.slice(2);
    const stored = async () =>
      new Set(
        (await stack.store.readStream({ aggregate: 'session', id: sessionId })).events.filter((e) => e.type === 'CustomerMessageReceived').map((e) => (e.data as { messageId: string }).messageId),
      );
    const bounced = () =>
      new Set(
        carol
          .errors()
          .map((e) => e.attrs.id!)
          .filter((id) => id.startsWith('k-')),
      );
    const order: string[] = [];
    const sentAt = new Map<string, number>();
    const send = async (id: string) => {
      order.push(id);
      sentAt.set(id, performance.now());
      await carol.say(address, `line ${id}`, id);
    };

    // Steady state: each line stored before the next.
    for (let i = 0; i < 3; i++) {
      await send(`k-steady-${i}`);
      await until(async () => (await stored()).has(`k-steady-${i}`) || undefined, `k-steady-${i} stored`);
    }
    // A burst from one customer (one lane, handled strictly in order), SIGKILLed in the middle.
    for (let i = 0; i < 10; i++) await send(`k-burst-${i}`);
    const killedAt = performance.now();
    await gateway.kill();
    for (let i = 10; i < 20; i++) await send(`k-burst-${i}`);
    // Until the XMPP server notices the connection is gone, lines go into it; after that, they bounce.
    let late = 0;
    await until(
      async () => {
        if (bounced().size > 0) return true;
        await send(`k-late-${late++}`);
        return undefined;
      },
      'the XMPP server to bounce lines for the dead component',
      30_000,
    );
    const noticedAt = performance.now();
    await gateway.start();
    for (let i = 0; i < 3; i++) await send(`k-after-${i}`);
    await until(async () => (await stored()).has('k-after-2') || undefined, 'the lines after the restart to be stored');
    // Lines still queued at the server when it noticed are bounced as it notices: give them time to come back by
    // waiting for a line that is surely bounced or stored after them (the restart's own lines are stored).
    const s = await stored();
    const b = bounced();
    const lost = order.filter((id) => !s.has(id) && !b.has(id));
    const fromKill = (id: string) => Math.round(sentAt.get(id)! - killedAt);
    console.log(
      JSON.stringify({
        sigkillWindow: {
          sent: order.length,
          stored: order.filter((id) => s.has(id)).length,
          bounced: b.size,
          lost: lost.length,
          lostSentMsFromKill: lost.map(fromKill),
          serverNoticedAfterMs: Math.round(noticedAt - killedAt),
        },
      }),
    );
    for (const id of [...order.filter((id) => id.startsWith('k-steady') || id.startsWith('k-after'))]) expect(s.has(id), id).toBe(true);
    expect([...b].filter((id) => s.has(id))).toEqual([]);
    // What is lost is one run of lines in send order: after every stored line of the burst and before the
    // first bounce. Nothing older than the newest stored line, nothing the server had already refused to take.
    if (lost.length > 0) {
      const first = order.indexOf(lost[0]!);
      expect(lost).toEqual(order.slice(first, first + lost.length));
      expect(order.slice(0, first).every((id) => s.has(id) || b.has(id))).toBe(true);
      expect(order.slice(first + lost.length).every((id) => s.has(id) || b.has(id))).toBe(true);
    }
    expect(gateway.running).toBe(true);
  });

  it('keeps a second gateway as a standby that takes no delivery, and relays through it once the first stops', async () => {
    // The XMPP server takes one connection per component domain: the second gateway is live, not ready.
    const standby = await stack.launchExtra('gateway-xmpp', gatewayEnv, { until: 'live' });
    expect((await fetch(`http://127.0.0.1:${standby.httpPort}/health/ready`)).status).toBe(503);
    // Deliveries straight on the contract's subject, as buffer writes them: every one reaches the customer. A
    // standby that took one could only retry it until it became active, and the customer would not get it.
    const js = jetstream(stack.nc);
    const deliver = async (label: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const delivery: CustomerDelivery = { deliveryId: `${label}-${i}`, sessionId: 'standby-check', to: `alice@${prosody.host}`, from: SUPPORT, kind: 'system', body: `${label} ${i}` };
        await js.publish(imDeliverSubject('xmpp'), JSON.stringify(delivery), { msgID: delivery.deliveryId });
      }
    };
    const received = (label: string) => alice.messages(SUPPORT).filter((m) => m.getChildText('body')?.startsWith(`${label} `)).length;
    await deliver('with a standby', 20);
    await until(() => received('with a standby') === 20 || undefined, 'all 20 deliveries at the customer while a standby runs');
    expect(standby.running).toBe(true);
    const relaying = async (handle: ServiceHandle) => (await (await fetch(`http://127.0.0.1:${handle.httpPort}/metrics`)).text()).match(/^parley_delivery_relay_running (\d)/m)?.[1];
    expect(await relaying(gateway)).toBe('1');
    expect(await relaying(standby)).toBe('0');

    // The first gateway goes: the standby connects and relays what comes next.
    expect(await gateway.stop()).toBe(0);
    await until(async () => (await fetch(`http://127.0.0.1:${standby.httpPort}/health/ready`)).status === 200 || undefined, 'the standby to take the component connection', 60_000);
    await deliver('after the hand-over', 5);
    await until(() => received('after the hand-over') === 5 || undefined, 'the deliveries after the hand-over at the customer');
    await until(async () => (await relaying(standby)) === '1' || undefined, 'the former standby to report that it relays');

    // Its durable deleted under it (an operator's mistake, a lost stream replica): the relay is made again after the
    // last delivery it handled, neither stopping for good nor replaying the channel's history.
    const { jetstreamManager } = await import('@nats-io/jetstream');
    await (await jetstreamManager(stack.nc)).consumers.delete('PARLEY_DELIVERIES', 'gateway-xmpp-customers');
    await deliver('after the consumer was deleted', 3);
    await until(() => received('after the consumer was deleted') === 3 || undefined, 'the deliveries after the relay was made again', 30_000);
    expect(received('with a standby')).toBe(20);
    expect(received('after the hand-over')).toBe(5);
    gateway = standby;
  });
});

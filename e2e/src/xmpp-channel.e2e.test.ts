import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUBJECTS } from '@parley/contracts';
import { type ProsodyHandle, type ServiceHandle, startProsody } from '@parley/testing';
import { xml } from '@xmpp/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ParleyStack, until } from './parley-stack.js';
import { XmppUser } from './xmpp-client.js';

let stack: ParleyStack;
let prosody: ProsodyHandle;
let gateway: ServiceHandle;
let alice: XmppUser;
let bob: XmppUser;
let agent: XmppUser;
const DOMAIN = 'parley.example.test';
const SUPPORT = `support@${DOMAIN}`;

beforeAll(async () => {
  prosody = await startProsody({ componentDomain: DOMAIN, users: [{ user: 'alice', password: 'pw' }, { user: 'bob', password: 'pw' }, { user: 'ada', password: 'pw' }] });
  stack = await ParleyStack.start({ OFFER_TIMEOUT_SECONDS: '60', ROUTING_TICK_MS: '100', STATUS_INTERVAL_SECONDS: '60' });
  const roster = join(mkdtempSync(join(tmpdir(), 'parley-xmpp-')), 'agents.yaml');
  writeFileSync(roster, stringify({ agents: [{ jid: `ada@${prosody.host}`, agentId: 'xmpp-ada', displayName: 'Ada', capacity: 1, queues: ['xq'], capabilities: ['text', 'xhtml-im'] }] }));
  gateway = await stack.launchExtra('gateway-xmpp', {
    XMPP_COMPONENT_SERVICE: `xmpp://127.0.0.1:${prosody.componentPort}`,
    XMPP_COMPONENT_DOMAIN: DOMAIN,
    XMPP_COMPONENT_SECRET: prosody.componentSecret,
    XMPP_AGENTS_FILE: roster,
    CLIENT_INFO_TIMEOUT_MS: '3000',
  });
  await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'xmpp-support', address: SUPPORT, queueId: 'xq', leaseSeconds: 600 });
  alice = new XmppUser(`alice@${prosody.host}`, prosody.c2sPort, prosody.host, 'pw');
  bob = new XmppUser(`bob@${prosody.host}`, prosody.c2sPort, prosody.host, 'pw', { name: 'Psi+', version: '1.5', features: [] });
  agent = new XmppUser(`ada@${prosody.host}`, prosody.c2sPort, prosody.host, 'pw', { name: 'Dino', version: '0.4', features: [] });
  await Promise.all([alice.start(), bob.start(), agent.start()]);
});

afterAll(async () => {
  await Promise.all([alice?.stop(), bob?.stop(), agent?.stop()]);
  await stack?.stop();
  await prosody?.stop();
});

const sessionAddressOf = (user: XmppUser) =>
  user.messages(SUPPORT).map((m) => m.getChild('session', 'urn:parley:session:0')).find(Boolean)?.attrs.address as string | undefined;

describe('customers and agents on XMPP', () => {
  it('subscribes, queues, offers to an XMPP agent who accepts by reply, and relays both ways without leaking JIDs', async () => {
    // The agent comes online from their own client: directed presence to the gateway's domain.
    await agent.send(xml('presence', { to: `desk@${DOMAIN}` }));
    await until(async () => ((await stack.request<{ agentsAvailable: number }>('parley.v1.stats.queue.xq', {})).agentsAvailable === 1) || undefined, 'the XMPP agent to be available');

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
    expect(status.getChildText('body')).toContain('number 1');

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
    const expectedAtAgent = Array.from({ length: 8 }, (_, i) => i).filter((i) => !bounced(alice).has(`alice-burst-${i}`)).map((i) => `customer burst ${i}`);
    const expectedAtAlice = Array.from({ length: 8 }, (_, i) => i).filter((i) => !bounced(agent).has(`ada-burst-${i}`)).map((i) => `agent burst ${i}`);
    expect(expectedAtAgent.length).toBeGreaterThanOrEqual(5);
    expect(expectedAtAlice.length).toBeGreaterThanOrEqual(5);
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
    const bobsAddress = await until(() => bob.messages(SUPPORT).map((m) => m.getChild('session', 'urn:parley:session:0')).find(Boolean)?.attrs.address, 'bob\'s session address');
    expect(await stack.request(SUBJECTS.imSessionLookup, { channel: 'xmpp', from: `bob@${prosody.host}`, to: SUPPORT })).toEqual({ open: true, sessionId: bobsAddress!.split('@')[0]!.slice(2), sessionAddress: bobsAddress });
    expect(await stack.request(SUBJECTS.imSessionLookup, { channel: 'xmpp', from: 'nobody@example.test', to: SUPPORT })).toEqual({ open: false });
    expect(await stack.request(SUBJECTS.imSessionLookup, { channel: 'xmpp', from: 'not an address', to: SUPPORT })).toMatchObject({ error: { code: 'invalid-payload', message: 'invalid fields: from' } });

    // alice's conversation has ended (previous test). She unsubscribes again and logs out of a device.
    const aliceBare = `alice@${prosody.host}`;
    const seen: { subject: string; from: string }[] = [];
    const watch = stack.nc.subscribe('parley.v1.im.>', { callback: (_err, m) => seen.push({ subject: m.subject, from: (m.json() as { from: string }).from }) });
    const sessionsBefore = new Set(alice.messages().map((m) => m.attrs.from?.split('/')[0]).filter((a) => a?.startsWith('s-')));
    await alice.send(xml('presence', { type: 'unsubscribe', to: SUPPORT }));
    await alice.send(xml('presence', { type: 'unavailable', to: SUPPORT }));
    await until(() => seen.filter((x) => x.subject === SUBJECTS.imSessionLookup && x.from === aliceBare).length >= 2 || undefined, 'two session lookups for alice');
    watch.unsubscribe();
    expect(seen.filter((x) => x.from === aliceBare).map((x) => x.subject)).not.toContain(SUBJECTS.imSubscribe);
    expect(seen.filter((x) => x.from === aliceBare).map((x) => x.subject)).not.toContain(SUBJECTS.imUnsubscribe);
    const sessionsAfter = new Set(alice.messages().map((m) => m.attrs.from?.split('/')[0]).filter((a) => a?.startsWith('s-')));
    expect(sessionsAfter).toEqual(sessionsBefore);
  });
});

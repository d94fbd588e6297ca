import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { DEMO_NATS_ROLES, freePort, type NatsServerHandle, startNatsServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentDelivery, CustomerDelivery } from '@parley/contracts';
import { Inbox, until } from './parley-stack.js';

const script = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url));
const customerScript = fileURLToPath(new URL('../../scripts/demo-customer.mjs', import.meta.url));
const demoCenterFile = fileURLToPath(new URL('../../infra/demo/contact-center.yaml', import.meta.url));

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const running: ChildProcess[] = [];
function run(file: string, args: string[], env: Record<string, string | undefined>, stdin = false, ownGroup = false): Run {
  // ownGroup: a process group of its own, like a command in a terminal, so Ctrl-C (SIGINT to the group) can be shown.
  const child = spawn(process.execPath, [file, ...args], { env: { ...process.env, ...env }, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: ownGroup });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d.toString()));
  child.stderr!.on('data', (d) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => output, exited };
}

const portFree = (port: number) =>
  new Promise<boolean>((r) => {
    const s = tcp({ host: '127.0.0.1', port }, () => (s.destroy(), r(false)));
    s.on('error', () => r(true));
  });
/** A base with its seven service ports free (below the ephemeral range, as freePort's ports are). */
async function freeBase(): Promise<number> {
  for (;;) {
    const base = (await freePort()) + 10;
    if ((await Promise.all([1, 2, 3, 4, 5, 6, 7].map((i) => portFree(base + i)))).every(Boolean)) return base;
  }
}

const ready = async (port: number) => {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(3_000) })).status;
  } catch {
    return 0;
  }
};

/** The XMPP server on `port` answers a client stream header with its stream features. */
const speaksXmpp = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = tcp({ host: '127.0.0.1', port }, () =>
      s.write(`<?xml version='1.0'?><stream:stream to='example.test' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`),
    );
    let got = '';
    s.setTimeout(5_000, () => (s.destroy(), resolve(false)));
    s.on('data', (d) => {
      got += d.toString();
      if (!got.includes('stream:features')) return;
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });

let nats: NatsServerHandle;
let first: Run;
let base = 0;
let xmppPort = 0;
let componentPort = 0;
// The server runs with the repository's users and permissions (as the start command's own does); the start
// command and the demo customer find their keys in keyDir.
let keyDir: string;
const env = () => ({
  NATS_URL: nats.url,
  PARLEY_NATS_KEY_DIR: keyDir,
  PARLEY_HTTP_PORT_BASE: String(base),
  PARLEY_SKIP_BUILD: '1',
  PARLEY_XMPP_PORT: String(xmppPort),
  PARLEY_XMPP_COMPONENT_PORT: String(componentPort),
  PARLEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-start-')),
});
const ports = () => [1, 2, 3, 4, 5, 6, 7].map((i) => base + i);

/** A customer on the command line (scripts/demo-customer.mjs) who finds Parley by PARLEY_NATS_PORT only. */
async function demoConversation() {
  const customer = run(
    customerScript,
    [],
    { NATS_URL: undefined, PARLEY_NATS_PORT: String(nats.port), PARLEY_DEMO_CLI_SEED_FILE: join(keyDir, 'demo_cli.nk'), LANG: 'en_US.UTF-8', LC_ALL: undefined, LC_MESSAGES: undefined },
    true,
  );
  const said = (text: string | RegExp, what: string, from = 0) =>
    until(
      () =>
        (typeof text === 'string' ? customer.output().slice(from).includes(text) : text.test(customer.output().slice(from))) ||
        (customer.child.exitCode !== null ? Promise.reject(new Error(customer.output())) : undefined),
      what,
      30_000,
    );
  await said('connected: write to s-', 'the customer to connect');
  await said('What can we help you with?', 'the intake question');
  customer.child.stdin!.write('1\n');
  await said(/Parley demo bot/, 'the demo bot to greet the customer');
  customer.child.stdin!.write('bye\n');
  await said('The conversation has ended', 'the conversation to end');
  const mark = customer.output().length;
  customer.child.stdin!.write('hello again\n');
  await said('connected: write to s-', 'a new conversation after the end', mark);
  customer.child.stdin!.end();
  expect(await customer.exited).toBe(0);
  return customer.output();
}

beforeAll(async () => {
  keyDir = mkdtempSync(join(tmpdir(), 'parley-start-keys-'));
  nats = await startNatsServer({ unauthenticated: 'refused', roles: DEMO_NATS_ROLES, keyDir });
  base = await freeBase();
  xmppPort = await freePort();
  componentPort = await freePort();
  first = run(script, ['--xmpp'], env(), false, true);
  await until(
    () => first.output().includes('Ctrl-C stops everything') || (first.child.exitCode !== null ? Promise.reject(new Error(first.output())) : undefined),
    'the start command to report Parley running',
    120_000,
  );
}, 240_000); // the wait above, with room to spare: a hook as long as its own wait fails first on a slow start

afterAll(async () => {
  // Ctrl-C, not SIGKILL: a killed start command would leave its services, Prosody and the demo bot running.
  await Promise.all(
    running
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map(async (child) => {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await until(() => child.exitCode !== null || child.signalCode !== null || undefined, 'a start command to stop', 60_000).catch(() => child.kill('SIGKILL'));
        await exited;
      }),
  );
  await nats?.stop();
});

describe('npm start (scripts/start.mjs) with NATS_URL', () => {
  it('brings up the seven services, ready, and tells what runs where', async () => {
    for (const port of ports()) expect(await ready(port)).toBe(200);
    for (const name of ['registration', 'presence-proxy', 'buffer', 'router', 'reporting', 'gateway-web', 'gateway-xmpp', 'demo contact center']) expect(first.output()).toContain(name);
    for (const port of ports()) expect(first.output()).toContain(`http://127.0.0.1:${port}`);
  });

  it('prints the XMPP ports Prosody really listens on when PARLEY_XMPP_PORT and PARLEY_XMPP_COMPONENT_PORT move them', async () => {
    expect(first.output()).toContain(`xmpp://127.0.0.1:${xmppPort}, component 127.0.0.1:${componentPort}`);
    expect(first.output()).not.toContain('5222');
    expect(first.output()).not.toContain('5347');
    expect(await speaksXmpp(xmppPort)).toBe(true);
    expect(await portFree(componentPort)).toBe(false);
  });

  it('prints no warning or error while starting, and a "try it" line with the NATS_URL to use', () => {
    expect(first.output()).not.toMatch(/"level":"(warn|error)"|\[ERR\]|\[FTL\]|error/i);
    expect(first.output()).toContain(`try it: NATS_URL=${nats.url} node scripts/demo-customer.mjs`);
  });

  it('runs the demo contact center: a customer on the command line (PARLEY_NATS_PORT only) is served by the bot, and writing after the end starts a new conversation', async () => {
    const nc = await connect(nats.connectOptions('admin'));
    const lookup = (await nc.request('parley.v1.registration.lookup', JSON.stringify({ address: 'support@parley.example.test' }), { timeout: 5_000 })).json();
    expect(lookup).toMatchObject({ registered: true, queueId: 'support' });
    await nc.close();
    const transcript = await demoConversation();
    expect(transcript).not.toContain('[error]');
  });

  it("demo: the bot first, in the customer's language, hands over to a person on request; the person's desk receives the transcript", async () => {
    const nc = await connect(nats.connectOptions('admin'));
    const ask = async (subject: string, payload: unknown) => (await nc.request(subject, JSON.stringify(payload), { timeout: 10_000 })).json<Record<string, any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- replies of several subjects
    const person = await Inbox.open<AgentDelivery>(nc, 'parley.v1.agent.deliver.demo-person');
    const customer = await Inbox.open<CustomerDelivery>(nc, 'parley.v1.im.deliver.e2e-de');
    // A person signs in before the customer arrives, so they are longer idle than the bot: the bot still goes first.
    expect(
      await ask('parley.v1.agent.login', {
        agentId: 'demo-person',
        displayName: 'Petra',
        kind: 'human',
        skills: { general: 4 },
        languages: ['de', 'en'],
        capacity: 2,
        capabilities: ['text'],
        queues: ['support', 'people'],
        leaseSeconds: 120,
      }),
    ).not.toHaveProperty('error');
    const from = 'kunde@e2e.example.test';
    const sub = await ask('parley.v1.im.subscribe', { channel: 'e2e-de', from, to: 'support@parley.example.test', locale: 'de-DE', client: { name: 'e2e', version: '1', capabilities: ['text'] } });
    expect(sub.status).toBe('available');
    const mine = (d: CustomerDelivery) => d.to === from && d.sessionId === sub.sessionId;
    const say = (id: string, body: string) => ask('parley.v1.im.message', { messageId: id, channel: 'e2e-de', from, to: sub.sessionAddress, body });
    try {
      await customer.waitFor((d) => mine(d) && d.body.includes('Wobei können wir helfen?'), 'the German intake question');
      await say('de-1', '1');
      const hello = await customer.waitFor((d) => mine(d) && d.kind === 'text' && d.body.startsWith('Hallo! Ich bin der Parley-Demo-Bot'), "the bot's greeting in German", 30_000);
      expect(hello.agentName).toBe('Parley demo bot');
      expect(person.items.filter((d) => d.kind === 'offer' && d.sessionId === sub.sessionId)).toEqual([]);
      await say('de-2', 'Ich möchte mit einem Menschen sprechen.');
      await customer.waitFor((d) => mine(d) && d.body.startsWith('Ich verbinde Sie mit einer Kollegin oder einem Kollegen'), 'the handover, in German');
      const offer = await person.waitFor((d) => d.kind === 'offer' && d.sessionId === sub.sessionId, 'the offer at the person', 30_000);
      expect(await ask('parley.v1.agent.offer.accept', { agentId: 'demo-person', offerId: offer.offerId })).not.toHaveProperty('error');
      const transcript = await until(() => {
        const lines = person.items.filter((d) => d.kind === 'message' && d.sessionId === sub.sessionId);
        return lines.length >= 3 ? lines : undefined;
      }, 'the transcript at the person');
      expect(transcript.map((d) => [d.author, d.body])).toEqual([
        ['agent', expect.stringContaining('Hallo! Ich bin der Parley-Demo-Bot')],
        ['customer', 'Ich möchte mit einem Menschen sprechen.'],
        ['agent', expect.stringContaining('Ich verbinde Sie')],
      ]);
      await ask('parley.v1.agent.message', { agentId: 'demo-person', sessionId: sub.sessionId, messageId: 'petra-1', body: 'Guten Tag, hier ist Petra.' });
      const fromPerson = await customer.waitFor((d) => mine(d) && d.body === 'Guten Tag, hier ist Petra.', "the person's line at the customer");
      expect(fromPerson.agentName).toBe('Petra');
      expect(await ask('parley.v1.agent.session.end', { agentId: 'demo-person', sessionId: sub.sessionId })).not.toHaveProperty('error');
    } finally {
      await ask('parley.v1.agent.state', { agentId: 'demo-person', state: 'offline' });
      person.stop();
      customer.stop();
      await nc.close();
    }
  });

  it("demo: the command-line customer speaks the terminal's language (LANG=de_DE.UTF-8: German intake and bot)", async () => {
    const customer = run(customerScript, [], { NATS_URL: nats.url, PARLEY_DEMO_CLI_SEED_FILE: join(keyDir, 'demo_cli.nk'), LANG: 'de_DE.UTF-8', LC_ALL: undefined, LC_MESSAGES: undefined }, true);
    await until(
      () => customer.output().includes('Wobei können wir helfen?') || (customer.child.exitCode !== null ? Promise.reject(new Error(customer.output())) : undefined),
      'the German intake question',
      30_000,
    );
    customer.child.stdin!.write('1\n');
    await until(() => customer.output().includes('Hallo! Ich bin der Parley-Demo-Bot') || undefined, 'the German bot', 30_000);
    customer.child.stdin!.write('tschüss\n');
    await until(() => customer.output().includes('The conversation has ended') || undefined, 'the end', 30_000);
    customer.child.stdin!.end();
    expect(await customer.exited).toBe(0);
  });

  it('tells a waiting customer "Thanks! Connecting you" before the first queue status, not after', async () => {
    const nc = await connect(nats.connectOptions('admin'));
    const state = async (s: 'away' | 'available') =>
      expect((await nc.request('parley.v1.agent.state', JSON.stringify({ agentId: 'demo-bot', state: s }), { timeout: 5_000 })).json()).not.toHaveProperty('error');
    await state('away'); // nobody to take the customer: they wait and get their position
    try {
      const customer = run(customerScript, [], { NATS_URL: nats.url, PARLEY_DEMO_CLI_SEED_FILE: join(keyDir, 'demo_cli.nk'), LANG: 'en_US.UTF-8', LC_ALL: undefined, LC_MESSAGES: undefined }, true);
      await until(() => customer.output().includes('What can we help you with?') || undefined, 'the intake question', 30_000);
      customer.child.stdin!.write('2\n');
      await until(() => customer.output().includes('[queue]') || undefined, 'a queue status', 30_000);
      const out = customer.output();
      expect(out.indexOf('Thanks! Connecting you to an agent.'), out).toBeGreaterThan(-1);
      expect(out.indexOf('Thanks! Connecting you to an agent.'), out).toBeLessThan(out.indexOf('[queue]'));
      customer.child.stdin!.end();
      expect(await customer.exited).toBe(0);
    } finally {
      await state('available');
      await nc.close();
    }
  });

  it('gives each web page an icon that loads (no favicon 404)', async () => {
    for (const page of ['demo', 'desk', 'supervisor']) {
      const html = await (await fetch(`http://127.0.0.1:${base + 7}/${page}`)).text();
      const href = html.match(/<link rel="icon" href="([^"]+)"/)?.[1];
      expect(href, page).toBeDefined();
      const icon = await fetch(`http://127.0.0.1:${base + 7}${href}`);
      expect(icon.status).toBe(200);
      expect(icon.headers.get('content-type')).toContain('image/svg+xml');
    }
  });

  it('refuses a second start on taken ports before starting anything, naming each port and its variable, and the running contact center keeps its bot', async () => {
    const second = run(script, ['--xmpp'], { ...env() });
    expect(await second.exited).toBe(1);
    const out = second.output();
    for (const port of ports()) expect(out).toContain(`${port}`);
    expect(out).toContain('PARLEY_HTTP_PORT_BASE');
    expect(out).toContain(`${xmppPort}  prosody (XMPP clients)  (PARLEY_XMPP_PORT)`);
    expect(out).toContain('nothing was started');
    expect(out).not.toContain('Parley is running');
    expect(out).not.toContain('EADDRINUSE');
    // Without NATS_URL, on the first one's NATS port: refused the same way, naming that port.
    const third = run(script, [], {
      PARLEY_SKIP_BUILD: '1',
      PARLEY_NATS_PORT: String(nats.port),
      PARLEY_NATS_MONITOR_PORT: String(await freePort()),
      PARLEY_HTTP_PORT_BASE: String(await freeBase()),
      PARLEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-start-')),
    });
    expect(await third.exited).toBe(1);
    expect(third.output()).toContain(`${nats.port}  nats-server  (PARLEY_NATS_PORT)`);
    expect(third.output()).toMatch(/To run a second, separate Parley beside it: PARLEY_NATS_PORT=\d+ .*PARLEY_DATA_DIR=/);
    // The first one is untouched: every service ready, and its demo bot still takes a customer.
    for (const port of ports()) expect(await ready(port)).toBe(200);
    expect(first.child.exitCode).toBeNull();
    await demoConversation();
  });

  it('turns readiness to 503 while nats-server is down and back to 200 when it returns, without a restart', async () => {
    await nats.pause();
    for (const port of ports().slice(0, 5)) await until(async () => (await ready(port)) === 503 || undefined, `503 on ${port}`, 30_000);
    await nats.start();
    for (const port of ports().slice(0, 5)) await until(async () => (await ready(port)) === 200 || undefined, `200 on ${port}`, 30_000);
    expect(first.child.exitCode).toBeNull();
  });

  it('stops everything cleanly on Ctrl-C: no error and no stack trace on the way', async () => {
    // As a terminal does it: SIGINT to the whole process group, which the services and the demo contact center
    // are not in (the start script stops them in order).
    process.kill(-first.child.pid!, 'SIGINT');
    expect(await first.exited).toBe(0);
    const stopping = first.output().slice(first.output().indexOf('[parley] stopping ...')).trim().split('\n');
    expect(stopping.at(-1)).toBe('[parley] stopped.');
    // Only the services' JSON lines may come between (warnings of requests the test before left waiting on
    // nats-server's restart can still land); nothing at error level, no other line such as a stack trace.
    const problems = stopping.slice(1, -1).filter((line) => {
      const json = line.replace(/^\[[\w-]+\] /, '');
      if (!json.startsWith('{')) return true;
      try {
        return (JSON.parse(json) as { level: string }).level === 'error';
      } catch {
        return false; // a JSON line the pipe handed over in two pieces: a service's line all the same
      }
    });
    expect(problems).toEqual([]);
    for (const port of ports()) expect(await ready(port)).toBe(0);
    expect(await portFree(xmppPort)).toBe(true);
  });
});

describe('npm start refuses bad input clearly, before starting anything', () => {
  it('shows every problem of a broken contact-center file as file:line:column: field: message on the console, once each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-center-'));
    const file = join(dir, 'center.yaml');
    const text = readFileSync(demoCenterFile, 'utf8').replace('maxWaiting: 100', 'maxWaiting: lots').replace('start: topic', 'start: nowhere');
    writeFileSync(file, text);
    const lineOf = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const b = await freeBase();
    const bad = run(script, [], { NATS_URL: nats.url, PARLEY_NATS_KEY_DIR: keyDir, PARLEY_HTTP_PORT_BASE: String(b), PARLEY_SKIP_BUILD: '1', PARLEY_CENTER_FILE: file, PARLEY_DATA_DIR: dir });
    const code = await bad.exited;
    const out = bad.output();
    expect(code, out).toBe(78);
    expect(out).toContain(`${file}:${lineOf('maxWaiting: lots')}:17: queues[0].maxWaiting: maxWaiting must be an integer number (got "lots")`);
    expect(out).toContain(`${file}:${lineOf('start: nowhere')}:12: flows[0].start: start names no question of flow support-intake`);
    expect(out).not.toContain('must not be less than 0');
    expect(out).toContain('nothing was started');
    for (const i of [1, 2, 3, 4, 5, 7]) expect(await ready(b + i)).toBe(0);
  });

  it('refuses a port variable that is not a port, naming it and the value', async () => {
    const bad = run(script, [], { PARLEY_HTTP_PORT_BASE: 'abc', PARLEY_SKIP_BUILD: '1' });
    expect(await bad.exited).toBe(78);
    expect(bad.output()).toBe('[parley] PARLEY_HTTP_PORT_BASE must be a TCP port number (1-65528), got "abc"\n');
  });

  it('stops quietly on Ctrl-C during the build: no "build failed", nothing left running', async () => {
    const b = await freeBase();
    const building = run(
      script,
      [],
      { NATS_URL: nats.url, PARLEY_NATS_KEY_DIR: keyDir, PARLEY_HTTP_PORT_BASE: String(b), PARLEY_SKIP_BUILD: '', PARLEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-start-')) },
      false,
      true,
    );
    await until(() => building.output().includes('building ...') || (building.child.exitCode !== null ? Promise.reject(new Error(building.output())) : undefined), 'the build to start', 60_000);
    // Ctrl-C in a terminal signals the whole foreground process group.
    process.kill(-building.child.pid!, 'SIGINT');
    expect(await building.exited).toBe(0);
    expect(building.output()).not.toContain('build failed');
    expect(building.output()).not.toMatch(/error/i);
    expect(building.output()).toContain('[parley] stopped.');
    expect(building.output()).not.toContain('Parley is running');
  });
});

describe('npm start killed outright (SIGKILL)', () => {
  it('leaves nothing running: its watchdog stops every process it started and frees the data directory', async () => {
    const b = await freeBase();
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-start-'));
    const killed = run(script, [], { NATS_URL: nats.url, PARLEY_NATS_KEY_DIR: keyDir, PARLEY_HTTP_PORT_BASE: String(b), PARLEY_SKIP_BUILD: '1', PARLEY_DATA_DIR: dataDir });
    await until(
      () => killed.output().includes('Ctrl-C stops everything') || (killed.child.exitCode !== null ? Promise.reject(new Error(killed.output())) : undefined),
      'the start command to report Parley running',
      120_000,
    );
    const started = JSON.parse(readFileSync(join(dataDir, 'processes.json'), 'utf8')) as { name: string; pid: number }[];
    expect(started.map((p) => p.name)).toEqual(expect.arrayContaining(['registration', 'presence-proxy', 'buffer', 'router', 'reporting', 'gateway-web']));
    for (const i of [1, 2, 3, 4, 5, 7]) expect(await ready(b + i)).toBe(200);
    killed.child.kill('SIGKILL');
    const isAlive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // The watchdog removes the lock last, after every process it stopped has exited.
    await until(() => !existsSync(join(dataDir, 'parley.pid')) || undefined, 'the watchdog to stop everything and free the data directory', 60_000);
    expect(started.filter((p) => isAlive(p.pid))).toEqual([]);
    for (const i of [1, 2, 3, 4, 5, 7]) expect(await portFree(b + i)).toBe(true);
  }, 240_000); // a full start (up to 120 s) and the watchdog's stop (up to 60 s)
});

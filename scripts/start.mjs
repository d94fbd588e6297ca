#!/usr/bin/env node
// Starts Parley on this machine: dependencies, a build, nats-server with JetStream (unless NATS_URL points at
// one), the five services, and a demo contact center. Ctrl-C stops all of it.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { connect as tcp } from 'node:net';
import { join } from 'node:path';
import { ensureDebianProgram, ensureDependencies, log, nxEnv, root, run } from './prerequisites.mjs';

const portBase = Number(process.env.PARLEY_HTTP_PORT_BASE ?? 3100);
const withXmpp = process.argv.includes('--xmpp') || process.env.PARLEY_XMPP === '1';
const SERVICES = ['registration', 'presence-proxy', 'buffer', 'router', 'reporting'].map((name, i) => [name, portBase + 1 + i]);
const dataDir = process.env.PARLEY_DATA_DIR ?? join(root, '.data');
const centerFile = process.env.PARLEY_CENTER_FILE ?? join(root, 'infra', 'demo', 'contact-center.yaml');
const logDir = join(dataDir, 'logs');
// Every process's NATS identity: an nkey seed per user, made once and kept (PARLEY_NATS_KEY_DIR moves them).
const keyDir = process.env.PARLEY_NATS_KEY_DIR ?? join(dataDir, 'nats', 'keys');
const children = [];
const stoppers = [];
let stopping = false;

/** Waits with the test launchers' readiness polls (built before use); a failure points at the logs. */
const waitUntilUp = async (what, wait) => {
  try {
    await wait(await import('@parley/testing'));
  } catch (err) {
    throw new Error(`${what} did not come up: ${err.message} (see ${logDir})`);
  }
};
const portUp = (what, port) => waitUntilUp(what, (t) => t.waitForPort(port, { timeoutMs: 60_000 }));
const ready = (what, port) => waitUntilUp(what, (t) => t.waitForHttp(`http://127.0.0.1:${port}/health/ready`, { timeoutMs: 60_000 }));
const portOpen = (port) =>
  new Promise((resolve) => {
    const s = tcp({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

function launch(name, command, args, env = {}, onExit) {
  const out = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  // Warnings and errors reach the console too; the full JSON log is in the file.
  child.stdout.on('data', (chunk) => {
    for (const line of chunk.toString().split('\n')) if (/"level":"(warn|error)"/.test(line)) process.stdout.write(`[${name}] ${line}\n`);
  });
  const entry = { name, child };
  child.on('exit', (code, signal) => {
    if (stopping) return;
    if (onExit) return onExit(entry, code, signal);
    log(`${name} exited (${signal ?? code}); stopping Parley. Log: ${join(logDir, `${name}.log`)}`);
    void stop(1);
  });
  children.push(entry);
  return child;
}

/** nats-server is supervised: if it stops, the services report not ready and reconnect once it is back. */
const natsServerEnv = {};
function launchNats(bin, args, port) {
  let restarts = 0;
  const onExit = (entry, code, signal) => {
    children.splice(children.indexOf(entry), 1);
    const delay = Math.min(10_000, 500 * 2 ** Math.min(restarts++, 5));
    log(`nats-server exited (${signal ?? code}); restarting it in ${delay} ms (services are not ready meanwhile)`);
    setTimeout(() => {
      if (stopping) return;
      launch('nats-server', bin, args, natsServerEnv, onExit);
      void portUp('nats-server', port).then(() => (restarts = 0, log('nats-server is back')), () => undefined);
    }, delay);
  };
  return launch('nats-server', bin, args, natsServerEnv, onExit);
}

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping ...');
  // Services first (they drain), nats-server last.
  const services = children.filter((c) => c.name !== 'nats-server').reverse();
  await Promise.all(services.map(({ child }) => new Promise((r) => (child.exitCode !== null ? r() : (child.once('exit', r), child.kill('SIGTERM'))))));
  for (const stopOne of stoppers) await stopOne().catch(() => undefined);
  const nats = children.find((c) => c.name === 'nats-server');
  if (nats && nats.child.exitCode === null) await new Promise((r) => (nats.child.once('exit', r), nats.child.kill('SIGTERM')));
  log('stopped.');
  process.exit(code);
}
/** How a Parley process connects as `user`: its seed file when the key dir has one (always, with our nats-server). */
async function natsEnv(natsUrl, user) {
  const { existsSync } = await import('node:fs');
  const seed = join(keyDir, `${user}.nk`);
  return { NATS_URL: natsUrl, ...(existsSync(seed) ? { NATS_NKEY_SEED_FILE: seed } : {}) };
}

/** The web channel: widget, agent desktop and supervisor dashboard, with demo users (password "parley"). */
async function startWeb(natsUrl) {
  const { randomBytes, scryptSync } = await import('node:crypto');
  const { existsSync, readFileSync, writeFileSync } = await import('node:fs');
  const hash = (password) => {
    const salt = randomBytes(16);
    return `scrypt$${salt.toString('base64')}$${scryptSync(password, salt, 32).toString('base64')}`;
  };
  const secretFile = join(dataDir, 'web-jwt-secret');
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const usersFile = join(dataDir, 'web-users.json');
  writeFileSync(usersFile, JSON.stringify({
    users: [
      { username: 'alex', passwordHash: hash('parley'), role: 'agent', agent: { agentId: 'alex', displayName: 'Alex', skills: { general: 4 }, languages: ['en', 'de'], capacity: 3, queues: ['support'], wrapUpSeconds: 10 } },
      { username: 'sam', passwordHash: hash('parley'), role: 'supervisor' },
    ],
  }));
  launch('gateway-web', process.execPath, [join(root, 'services', 'gateway-web', 'dist', 'main.js')], {
    ...(await natsEnv(natsUrl, 'gateway-web')),
    HTTP_PORT: String(portBase + 7),
    WEB_JWT_SECRET: readFileSync(secretFile, 'utf8'),
    WEB_USERS_FILE: usersFile,
  });
  await ready('gateway-web', portBase + 7);
}

/** Prosody from Debian on the usual ports, with demo users, and the XMPP gateway in front of Parley. */
async function startXmpp(natsUrl) {
  ensureDebianProgram('prosody');
  const { startProsody } = await import('@parley/testing');
  const prosody = await startProsody({
    dir: join(dataDir, 'prosody'),
    c2sPort: Number(process.env.PARLEY_XMPP_PORT ?? 5222),
    componentPort: Number(process.env.PARLEY_XMPP_COMPONENT_PORT ?? 5347),
    componentDomain: 'parley.example.test',
    componentSecret: 'parley-demo-secret',
    users: ['alice', 'bob', 'ada'].map((user) => ({ user, password: 'parley' })),
  });
  stoppers.push(() => prosody.stop());
  launch('gateway-xmpp', process.execPath, [join(root, 'services', 'gateway-xmpp', 'dist', 'main.js')], {
    ...(await natsEnv(natsUrl, 'gateway-xmpp')),
    HTTP_PORT: String(portBase + 6),
    XMPP_COMPONENT_SERVICE: `xmpp://127.0.0.1:${prosody.componentPort}`,
    XMPP_COMPONENT_DOMAIN: prosody.componentDomain,
    XMPP_COMPONENT_SECRET: prosody.componentSecret,
    XMPP_AGENTS_FILE: join(root, 'infra', 'demo', 'xmpp-agents.yaml'),
  });
  await ready('gateway-xmpp', portBase + 6);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  mkdirSync(logDir, { recursive: true });
  ensureDependencies();
  log('building ...');
  if (!process.env.PARLEY_SKIP_BUILD && run('npx', ['nx', 'run-many', '-t', 'build', '--output-style=static'], { env: nxEnv, stdio: ['ignore', 'ignore', 'inherit'] }) !== 0) throw new Error('build failed');

  let natsUrl = process.env.NATS_URL;
  if (!natsUrl) {
    const port = Number(process.env.PARLEY_NATS_PORT ?? 4222);
    const monitor = Number(process.env.PARLEY_NATS_MONITOR_PORT ?? 8222);
    if (await portOpen(port)) throw new Error(`port ${port} is taken: stop what runs there, set PARLEY_NATS_PORT, or set NATS_URL to use that server`);
    const bin = ensureDebianProgram('nats-server');
    mkdirSync(join(dataDir, 'nats'), { recursive: true });
    // The repository's users and permissions (infra/nats), as in production: unauthenticated clients are refused.
    const { writeNatsConfig, DEMO_NATS_ROLES } = await import('@parley/testing');
    const { configFile, env } = writeNatsConfig({ dir: keyDir, port, storeDir: join(dataDir, 'nats'), monitorPort: monitor, roles: DEMO_NATS_ROLES, unauthenticated: 'refused' });
    Object.assign(natsServerEnv, env);
    launchNats(bin, ['-c', configFile], port);
    await portUp('nats-server', port);
    natsUrl = `nats://127.0.0.1:${port}`;
  }
  for (const [name, port] of SERVICES) {
    launch(name, process.execPath, [join(root, 'services', name, 'dist', 'main.js')], { ...(await natsEnv(natsUrl, name)), HTTP_PORT: String(port), PARLEY_CENTER_FILE: centerFile });
  }
  await Promise.all(SERVICES.map(([name, port]) => ready(name, port)));
  await startWeb(natsUrl);
  if (withXmpp) await startXmpp(natsUrl);
  const { existsSync: seedExists } = await import('node:fs');
  const seed = (user) => (seedExists(join(keyDir, `${user}.nk`)) ? join(keyDir, `${user}.nk`) : '');
  const demo = launch('demo-center', process.execPath, [join(root, 'scripts', 'demo-center.mjs')], {
    NATS_URL: natsUrl,
    PARLEY_DEMO_REGISTRAR_SEED_FILE: seed('demo_registrar'),
    PARLEY_DEMO_BOT_SEED_FILE: seed('demo_bot'),
  });
  await new Promise((resolve, reject) => {
    demo.stdout.on('data', (d) => d.toString().includes('demo contact center ready') && resolve());
    demo.once('exit', () => reject(new Error('the demo contact center failed to start')));
  });

  log('Parley is running:');
  console.table(
    Object.fromEntries([
      ['nats-server', { where: natsUrl, notes: process.env.NATS_URL ? 'from NATS_URL' : `JetStream store ${join(dataDir, 'nats')}; users and permissions infra/nats, keys ${keyDir}` }],
      ...SERVICES.map(([name, port]) => [name, { where: `http://127.0.0.1:${port}`, notes: '/health/live /health/ready /metrics' }]),
      ['demo contact center', { where: 'support@parley.example.test', notes: 'queue "support", bot agent demo-bot' }],
      ['contact-center file', { where: centerFile, notes: 'intake flows, hours, queue limits' }],
      ['web: chat widget demo', { where: `http://127.0.0.1:${portBase + 7}/demo`, notes: 'a web site with the widget' }],
      ['web: agent desktop', { where: `http://127.0.0.1:${portBase + 7}/desk`, notes: 'sign in as alex / parley' }],
      ['web: supervisor', { where: `http://127.0.0.1:${portBase + 7}/supervisor`, notes: 'sign in as sam / parley' }],
      ...(withXmpp
        ? [
            ['prosody (XMPP)', { where: 'xmpp://127.0.0.1:5222, component 127.0.0.1:5347', notes: `users alice, bob (customers), ada (agent) @example.test, password "parley"; data ${join(dataDir, 'prosody')}` }],
            ['gateway-xmpp', { where: `http://127.0.0.1:${portBase + 6}`, notes: 'subscribe to support@parley.example.test from any XMPP client' }],
          ]
        : []),
    ]),
  );
  log(`logs: ${logDir}`);
  log(`try it: node scripts/demo-customer.mjs   (a customer on the command line)`);
  log('Ctrl-C stops everything.');
} catch (err) {
  process.stderr.write(`[parley] ${err.message}\n`);
  await stop(1);
}

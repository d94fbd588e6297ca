#!/usr/bin/env node
// Starts Parley on this machine: dependencies, a build, nats-server with JetStream (unless NATS_URL points at
// one), the seven services (five core services and the web and XMPP gateways), and a demo contact center.
// Ctrl-C stops all of it.
//
// Nothing starts before every port this run needs is known to be free, and a service counts as up only when
// the process this command started says so itself: a failed start never touches another running Parley.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { ensureDebianProgram, ensureDependencies, log, nxEnv, root } from './prerequisites.mjs';

const DEMO_ADDRESS = 'support@parley.example.test';
const withXmpp = process.argv.includes('--xmpp') || process.env.PARLEY_XMPP === '1';

/** A clear message and exit code 78 (configuration) for a variable that is not a port. */
function portVariable(name, fallback, span = 0) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port < 1 || port + span > 65535) {
    process.stderr.write(`[parley] ${name} must be a TCP port number (1-${65535 - span}), got "${raw}"\n`);
    process.exit(78);
  }
  return port;
}
const portBase = portVariable('PARLEY_HTTP_PORT_BASE', 3100, 7);
const natsPort = portVariable('PARLEY_NATS_PORT', 4222);
const monitorPort = portVariable('PARLEY_NATS_MONITOR_PORT', 8222);
const xmppPort = portVariable('PARLEY_XMPP_PORT', 5222);
const xmppComponentPort = portVariable('PARLEY_XMPP_COMPONENT_PORT', 5347);
const SERVICES = ['registration', 'presence-proxy', 'buffer', 'router', 'reporting'].map((name, i) => [name, portBase + 1 + i]);
const XMPP_GATEWAY_PORT = portBase + 6;
const WEB_GATEWAY_PORT = portBase + 7;
const dataDir = resolve(process.env.PARLEY_DATA_DIR ?? join(root, '.data'));
const centerFile = resolve(process.env.PARLEY_CENTER_FILE ?? join(root, 'infra', 'demo', 'contact-center.yaml'));
const logDir = join(dataDir, 'logs');
const lockFile = join(dataDir, 'parley.pid');
// What this start command launched, by pid, for the watchdog that stops them if the command itself is killed.
const processesFile = join(dataDir, 'processes.json');
let watchdog;
// Every process's NATS identity: an nkey seed per user, made once and kept (PARLEY_NATS_KEY_DIR moves them).
const keyDir = resolve(process.env.PARLEY_NATS_KEY_DIR ?? join(dataDir, 'nats', 'keys'));
/** How a Parley process connects as `user`: its seed file when the key dir has one (always, with our nats-server). */
const natsEnv = (natsUrl, user) => ({ NATS_URL: natsUrl, ...(existsSync(join(keyDir, `${user}.nk`)) ? { NATS_NKEY_SEED_FILE: join(keyDir, `${user}.nk`) } : {}) });
const seedOf = (user) => (existsSync(join(keyDir, `${user}.nk`)) ? join(keyDir, `${user}.nk`) : '');
const children = [];
const stoppers = [];
let stopping = false;
let building;
let ownsLock = false;

/** Every port this run will listen on, with what listens there and the variable that moves it. */
function plannedPorts() {
  return [
    ...(process.env.NATS_URL
      ? []
      : [
          { port: natsPort, what: 'nats-server', variable: 'PARLEY_NATS_PORT' },
          { port: monitorPort, what: 'nats-server monitoring', variable: 'PARLEY_NATS_MONITOR_PORT' },
        ]),
    ...SERVICES.map(([name, port]) => ({ port, what: name, variable: 'PARLEY_HTTP_PORT_BASE' })),
    ...(withXmpp
      ? [
          { port: XMPP_GATEWAY_PORT, what: 'gateway-xmpp', variable: 'PARLEY_HTTP_PORT_BASE' },
          { port: xmppPort, what: 'prosody (XMPP clients)', variable: 'PARLEY_XMPP_PORT' },
          { port: xmppComponentPort, what: 'prosody (XMPP component)', variable: 'PARLEY_XMPP_COMPONENT_PORT' },
        ]
      : []),
    { port: WEB_GATEWAY_PORT, what: 'gateway-web', variable: 'PARLEY_HTTP_PORT_BASE' },
  ];
}

/** True when this process could listen on 127.0.0.1:port now (nothing else holds it). */
const portFree = (port) =>
  new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolvePort(true)));
  });

async function firstFree(from, count = 1, step = 1) {
  for (let p = from; p + count <= 65535; p += step) {
    const all = await Promise.all(Array.from({ length: count }, (_, i) => portFree(p + i)));
    if (all.every(Boolean)) return p;
  }
  return undefined;
}

/** The pid of another start command running from this data directory (a stale file of a killed one is ignored). */
const lockHolder = () => {
  try {
    const pid = Number(readFileSync(lockFile, 'utf8').trim());
    if (!pid || pid === process.pid) return undefined;
    process.kill(pid, 0);
    // A pid the kernel has since given to another program is not a Parley (Linux: its command line says so).
    if (existsSync(`/proc/${pid}/cmdline`) && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start.mjs')) return undefined;
    return pid;
  } catch {
    return undefined;
  }
};

/** Refuses to start, before anything runs, when a port is taken or another Parley uses the data directory. */
async function preflight() {
  const planned = plannedPorts();
  const seen = new Map();
  for (const p of planned) {
    if (seen.has(p.port)) throw new Error(`port ${p.port} is planned twice (${seen.get(p.port)} and ${p.what}): change ${p.variable}`);
    seen.set(p.port, p.what);
  }
  const taken = [];
  for (const p of planned) if (!(await portFree(p.port))) taken.push(p);
  const holder = lockHolder();
  if (taken.length === 0 && !holder) return;
  const lines = [];
  if (taken.length > 0) {
    lines.push('cannot start: these ports on 127.0.0.1 are in use (nothing was started):');
    for (const p of taken) lines.push(`  ${String(p.port).padEnd(5)}  ${p.what}  (${p.variable})`);
  }
  if (holder) lines.push(`${taken.length ? 'Another' : 'cannot start: another'} Parley runs from ${dataDir} (pid ${holder}): stop it with Ctrl-C in its terminal.`);
  else if (taken.length) lines.push('Another Parley, or another program, may be running: stop it first.');
  // A second, separate Parley next to the first: its own ports and its own data directory.
  const moved = [];
  const vars = new Set(taken.map((p) => p.variable));
  if (vars.has('PARLEY_NATS_PORT')) moved.push(`PARLEY_NATS_PORT=${await firstFree(natsPort + 1)}`);
  if (vars.has('PARLEY_NATS_MONITOR_PORT')) moved.push(`PARLEY_NATS_MONITOR_PORT=${await firstFree(monitorPort + 1)}`);
  if (vars.has('PARLEY_HTTP_PORT_BASE')) moved.push(`PARLEY_HTTP_PORT_BASE=${(await firstFree(portBase + 101, 7, 100)) - 1}`);
  if (vars.has('PARLEY_XMPP_PORT')) moved.push(`PARLEY_XMPP_PORT=${await firstFree(xmppPort + 1)}`);
  if (vars.has('PARLEY_XMPP_COMPONENT_PORT')) moved.push(`PARLEY_XMPP_COMPONENT_PORT=${await firstFree(xmppComponentPort + 1)}`);
  moved.push(`PARLEY_DATA_DIR=${dataDir}-2`);
  lines.push(`To run a second, separate Parley beside it: ${moved.join(' ')} npm start${withXmpp ? ' -- --xmpp' : ''}`);
  const err = new Error(lines.join('\n'));
  err.exitCode = 1;
  throw err;
}

/** Console lines for what a child writes: warnings, errors and configuration problems (everything is in its log). */
function consoleLines(name, text, state, stderr) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let entry;
    try {
      entry = line.startsWith('{') ? JSON.parse(line) : undefined;
    } catch {
      entry = undefined;
    }
    if (entry) {
      if (Array.isArray(entry.problems)) {
        state.explained = true;
        out.push(`[${name}] ${entry.msg ?? 'invalid configuration'}:`, ...entry.problems.map((p) => `[${name}]   ${p}`));
      } else if (entry.level === 'warn' || entry.level === 'error') out.push(`[${name}] ${line}`);
    } else if (name === 'nats-server') {
      if (/\[(ERR|FTL)\]/.test(line)) out.push(`[${name}] ${line}`);
    } else if (!state.explained && stderr) out.push(`[${name}] ${line}`);
  }
  return out;
}

// The services' V8 flags, as the container image sets them (infra/Dockerfile; see docs/operations.md, "Node flags").
const SERVICE_NODE_OPTIONS = '--max-semi-space-size=32';

function launch(name, command, args, env = {}, onExit) {
  env = { PARLEY_ENVIRONMENT: 'development', ...env };
  if (args[0]?.endsWith(join('dist', 'main.js'))) env.NODE_OPTIONS = [process.env.NODE_OPTIONS, SERVICE_NODE_OPTIONS].filter(Boolean).join(' ');
  const out = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  // Each in a process group of its own: Ctrl-C reaches this process alone, which stops the services first and
  // nats-server last (in the terminal's group, nats-server went at once and every service logged its consumers
  // losing the server while it drained). If this process is killed outright, the watchdog stops them.
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const state = { explained: false };
  const entry = { name, child, output: '' };
  const show = (stderr) => (chunk) => {
    entry.output = (entry.output + chunk.toString()).slice(-20_000);
    for (const line of consoleLines(name, chunk.toString(), state, stderr)) process.stdout.write(`${line}\n`);
  };
  child.stdout.on('data', show(false));
  child.stderr.on('data', show(true));
  recordProcess(name, child.pid);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    if (onExit) return onExit(entry, code, signal);
    log(`${name} exited (${signal ?? code}); stopping Parley. Log: ${join(logDir, `${name}.log`)}`);
    void stop(1);
  });
  children.push(entry);
  return entry;
}

const alive = (child) => child.exitCode === null && child.signalCode === null;

const recorded = [];
function recordProcess(name, pid) {
  if (!pid) return;
  recorded.push({ name, pid });
  writeFileSync(processesFile, JSON.stringify(recorded));
}

/** A detached process that stops everything recorded if this one dies without stop() (SIGKILL). */
function startWatchdog() {
  watchdog = spawn(process.execPath, [join(root, 'scripts', 'start-watchdog.mjs'), String(process.pid), processesFile, lockFile], { detached: true, stdio: 'ignore' });
  watchdog.unref();
}

/** Resolves when the child itself writes a line matching `pattern`; rejects if it exits first. */
function says(entry, pattern, what) {
  return new Promise((resolveSays, reject) => {
    if (pattern.test(entry.output)) return resolveSays();
    const check = () => {
      if (!pattern.test(entry.output)) return;
      cleanup();
      resolveSays();
    };
    const exited = (code, signal) => (cleanup(), reject(new Error(`${what} exited (${signal ?? code}) before it was up (see ${join(logDir, `${entry.name}.log`)})`)));
    const cleanup = () => {
      entry.child.stdout.off('data', check);
      entry.child.stderr.off('data', check);
      entry.child.off('exit', exited);
    };
    entry.child.stdout.on('data', check);
    entry.child.stderr.on('data', check);
    entry.child.once('exit', exited);
  });
}

/** A service is up when its own process said it listens and its own /health/ready answers 200. */
async function serviceUp(entry, port) {
  await says(entry, /"msg":"ready"/, entry.name);
  const { waitForHttp } = await import('@parley/testing');
  try {
    await waitForHttp(`http://127.0.0.1:${port}/health/ready`, { timeoutMs: 60_000, isAlive: () => alive(entry.child) });
  } catch (err) {
    throw new Error(`${entry.name} did not become ready: ${err.message} (see ${join(logDir, `${entry.name}.log`)})`);
  }
}

/** nats-server's environment: the users' public nkeys its configuration reads. */
const natsServerEnv = {};

/** nats-server is supervised: if it stops, the services report not ready and reconnect once it is back. */
function launchNats(bin, args) {
  let restarts = 0;
  const onExit = (entry, code, signal) => {
    children.splice(children.indexOf(entry), 1);
    const delay = Math.min(10_000, 500 * 2 ** Math.min(restarts++, 5));
    log(`nats-server exited (${signal ?? code}); restarting it in ${delay} ms (services are not ready meanwhile)`);
    setTimeout(() => {
      if (stopping) return;
      const again = launch('nats-server', bin, args, natsServerEnv, onExit);
      void says(again, /Server is ready/, 'nats-server').then(
        () => ((restarts = 0), log('nats-server is back')),
        () => undefined,
      );
    }, delay);
  };
  return launch('nats-server', bin, args, natsServerEnv, onExit);
}

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping ...');
  if (building && alive(building)) {
    // The build runs in its own process group: stop all of it, quietly.
    const exited = new Promise((r) => building.once('exit', r));
    try {
      process.kill(-building.pid, 'SIGTERM');
    } catch {
      building.kill('SIGTERM');
    }
    await exited;
  }
  // Services first (they drain), nats-server last.
  const services = children.filter((c) => c.name !== 'nats-server').reverse();
  await Promise.all(services.map(({ child }) => new Promise((r) => (!alive(child) ? r() : (child.once('exit', r), child.kill('SIGTERM'))))));
  for (const stopOne of stoppers) await stopOne().catch(() => undefined);
  const nats = children.find((c) => c.name === 'nats-server');
  if (nats && alive(nats.child)) await new Promise((r) => (nats.child.once('exit', r), nats.child.kill('SIGTERM')));
  watchdog?.kill('SIGTERM');
  rmSync(processesFile, { force: true });
  if (ownsLock) rmSync(lockFile, { force: true });
  log('stopped.');
  process.exit(code);
}

/** The build, in its own process group so Ctrl-C stops it through stop(); its output is shown only on failure. */
async function buildAll() {
  const child = spawn('npx', ['nx', 'run-many', '-t', 'build', '--output-style=static'], { cwd: root, env: nxEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  building = child;
  let output = '';
  child.stdout.on('data', (d) => (output = (output + d).slice(-20_000)));
  child.stderr.on('data', (d) => (output = (output + d).slice(-20_000)));
  const code = await new Promise((r) => child.once('exit', (c, signal) => r(signal ? 1 : c)));
  building = undefined;
  if (stopping) return false;
  if (code !== 0) throw new Error(`build failed:\n${output.trim()}`);
  return true;
}

/** The contact-center file is checked before any service starts; every problem is shown as file:line:column: field: message. */
async function checkCenterFile() {
  const { CenterSettings } = await import('@parley/center-config');
  try {
    CenterSettings.load(centerFile);
  } catch (err) {
    const problems = Array.isArray(err.problems) ? err.problems : [err.message];
    const e = new Error(`the contact-center file is invalid (nothing was started):\n${problems.map((p) => `  ${p}`).join('\n')}\nSchema: libs/center-config/src/center-config.schema.ts`);
    e.exitCode = 78;
    throw e;
  }
}

/** The web channel: widget, agent desktop and supervisor dashboard, with demo users (password "parley"). */
async function startWeb(natsUrl) {
  const { randomBytes, scryptSync } = await import('node:crypto');
  const hash = (password) => {
    const salt = randomBytes(16);
    return `scrypt$${salt.toString('base64')}$${scryptSync(password, salt, 32).toString('base64')}`;
  };
  const secretFile = join(dataDir, 'web-jwt-secret');
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const usersFile = join(dataDir, 'web-users.json');
  writeFileSync(
    usersFile,
    JSON.stringify({
      users: [
        {
          username: 'alex',
          passwordHash: hash('parley'),
          role: 'agent',
          agent: { agentId: 'alex', displayName: 'Alex', skills: { general: 4 }, languages: ['en', 'de'], capacity: 3, queues: ['support', 'people'], wrapUpSeconds: 10 },
        },
        { username: 'sam', passwordHash: hash('parley'), role: 'supervisor', displayName: 'Sam', permissions: ['whisper', 'take-over'] },
      ],
    }),
  );
  const web = launch('gateway-web', process.execPath, [join(root, 'services', 'gateway-web', 'dist', 'main.js')], {
    ...natsEnv(natsUrl, 'gateway-web'),
    HTTP_PORT: String(WEB_GATEWAY_PORT),
    WEB_JWT_SECRET: readFileSync(secretFile, 'utf8'),
    WEB_USERS_FILE: usersFile,
    WEB_PRE_CHAT_FORMS: 'support@parley.example.test=name,email',
  });
  await serviceUp(web, WEB_GATEWAY_PORT);
}

/** Prosody from Debian with demo users, and the XMPP gateway in front of Parley. */
async function startXmpp(natsUrl) {
  ensureDebianProgram('prosody');
  const { startProsody } = await import('@parley/testing');
  const prosody = await startProsody({
    dir: join(dataDir, 'prosody'),
    c2sPort: xmppPort,
    componentPort: xmppComponentPort,
    componentDomain: 'parley.example.test',
    componentSecret: 'parley-demo-secret',
    users: ['alice', 'bob', 'ada'].map((user) => ({ user, password: 'parley' })),
  });
  stoppers.push(() => prosody.stop());
  // prosody daemonizes: its pid is in the pid file it writes, sometimes just after it listens.
  for (let waited = 0; !prosody.pid && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  recordProcess('prosody', prosody.pid);
  const gateway = launch('gateway-xmpp', process.execPath, [join(root, 'services', 'gateway-xmpp', 'dist', 'main.js')], {
    ...natsEnv(natsUrl, 'gateway-xmpp'),
    HTTP_PORT: String(XMPP_GATEWAY_PORT),
    XMPP_COMPONENT_SERVICE: `xmpp://127.0.0.1:${prosody.componentPort}`,
    XMPP_COMPONENT_DOMAIN: prosody.componentDomain,
    XMPP_COMPONENT_SECRET: prosody.componentSecret,
    XMPP_AGENTS_FILE: join(root, 'infra', 'demo', 'xmpp-agents.yaml'),
  });
  await serviceUp(gateway, XMPP_GATEWAY_PORT);
  return prosody;
}

/** Whether a contact center on this NATS already serves the demo address (another Parley started it). */
async function demoServedElsewhere(natsUrl) {
  const { connect, nkeyAuthenticator } = await import('@nats-io/transport-node');
  // As the demo's registrar when its key is there (a server with Parley's permissions refuses anonymous clients).
  const seed = seedOf('demo_registrar');
  const auth = seed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(seed, 'utf8').trim())), inboxPrefix: '_INBOX_registrar_demo' } : {};
  const nc = await connect({ servers: natsUrl, name: 'parley-start-check', ...auth });
  try {
    const reply = (await nc.request('parley.v1.registration.lookup', JSON.stringify({ address: DEMO_ADDRESS }), { timeout: 5_000 })).json();
    return reply.registered === true;
  } finally {
    await nc.close();
  }
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

async function main() {
  await preflight();
  mkdirSync(logDir, { recursive: true });
  writeFileSync(lockFile, String(process.pid));
  ownsLock = true;
  startWatchdog();
  ensureDependencies();
  if (!process.env.PARLEY_SKIP_BUILD) {
    log('building ...');
    if (!(await buildAll())) return;
  }
  await checkCenterFile();
  // Time has passed since the first check (install, build): check again right before listening anywhere.
  await preflight();
  if (stopping) return;

  let natsUrl = process.env.NATS_URL;
  if (!natsUrl) {
    const bin = ensureDebianProgram('nats-server');
    mkdirSync(join(dataDir, 'nats'), { recursive: true });
    // The repository's users and permissions (infra/nats), as in production: unauthenticated clients are refused.
    const { writeNatsConfig, DEMO_NATS_ROLES } = await import('@parley/testing');
    const { configFile, env } = writeNatsConfig({ dir: keyDir, port: natsPort, storeDir: join(dataDir, 'nats'), monitorPort, roles: DEMO_NATS_ROLES, unauthenticated: 'refused', logFile: false });
    Object.assign(natsServerEnv, env);
    const nats = launchNats(bin, ['-c', configFile]);
    await says(nats, /Server is ready/, 'nats-server');
    natsUrl = `nats://127.0.0.1:${natsPort}`;
  }
  const launched = SERVICES.map(([name, port]) => [
    launch(name, process.execPath, [join(root, 'services', name, 'dist', 'main.js')], { ...natsEnv(natsUrl, name), HTTP_PORT: String(port), PARLEY_CENTER_FILE: centerFile }),
    port,
  ]);
  await Promise.all(launched.map(([entry, port]) => serviceUp(entry, port)));
  await startWeb(natsUrl);
  const prosody = withXmpp ? await startXmpp(natsUrl) : undefined;
  // A second Parley on a shared NATS_URL leaves the demo contact center (and its bot) to the one that runs it.
  const demoElsewhere = process.env.NATS_URL ? await demoServedElsewhere(natsUrl) : false;
  if (!demoElsewhere) {
    const demo = launch('demo-center', process.execPath, [join(root, 'scripts', 'demo-center.mjs')], {
      NATS_URL: natsUrl,
      PARLEY_DEMO_REGISTRAR_SEED_FILE: seedOf('demo_registrar'),
      PARLEY_DEMO_BOT_SEED_FILE: seedOf('demo_bot'),
    });
    await says(demo, /demo contact center ready/, 'the demo contact center');
  }
  if (stopping) return;

  log('Parley is running:');
  console.table(
    Object.fromEntries([
      [
        'nats-server',
        {
          where: natsUrl,
          notes: process.env.NATS_URL ? 'from NATS_URL' : `monitoring http://127.0.0.1:${monitorPort}; JetStream store ${join(dataDir, 'nats')}; users and permissions infra/nats, keys ${keyDir}`,
        },
      ],
      ...SERVICES.map(([name, port]) => [name, { where: `http://127.0.0.1:${port}`, notes: '/health/live /health/ready /metrics' }]),
      ['gateway-web', { where: `http://127.0.0.1:${WEB_GATEWAY_PORT}`, notes: 'the web channel (pages below)' }],
      ...(prosody
        ? [
            ['gateway-xmpp', { where: `http://127.0.0.1:${XMPP_GATEWAY_PORT}`, notes: `subscribe to ${DEMO_ADDRESS} from any XMPP client` }],
            [
              'prosody (XMPP)',
              {
                where: `xmpp://127.0.0.1:${prosody.c2sPort}, component 127.0.0.1:${prosody.componentPort}`,
                notes: `users alice, bob (customers), ada (agent) @example.test, password "parley"; data ${join(dataDir, 'prosody')}`,
              },
            ],
          ]
        : []),
      ['demo contact center', { where: DEMO_ADDRESS, notes: demoElsewhere ? 'served by the Parley that already runs on this NATS' : 'queue "support": the bot demo-bot first, a person on request' }],
      ['contact-center file', { where: centerFile, notes: 'intake flows, hours, queue limits' }],
      ['web: chat widget demo', { where: `http://127.0.0.1:${WEB_GATEWAY_PORT}/demo`, notes: 'a web site with the widget' }],
      ['web: agent desktop', { where: `http://127.0.0.1:${WEB_GATEWAY_PORT}/desk`, notes: 'sign in as alex / parley' }],
      ['web: supervisor', { where: `http://127.0.0.1:${WEB_GATEWAY_PORT}/supervisor`, notes: 'sign in as sam / parley' }],
    ]),
  );
  log(`logs: ${logDir}`);
  const natsPrefix = natsUrl === 'nats://127.0.0.1:4222' ? '' : `NATS_URL=${natsUrl} `;
  log(`try it: ${natsPrefix}node scripts/demo-customer.mjs   (a customer on the command line)`);
  log('Ctrl-C stops everything.');
}

main().catch(async (err) => {
  if (stopping) return; // interrupted (Ctrl-C): stop() reports and exits
  process.stderr.write(
    `${err.message
      .split('\n')
      .map((l) => `[parley] ${l}`)
      .join('\n')}\n`,
  );
  if (children.length === 0 && !building) {
    watchdog?.kill('SIGTERM');
    if (ownsLock) rmSync(lockFile, { force: true });
    process.exit(err.exitCode ?? 1);
  }
  await stop(err.exitCode ?? 1);
});

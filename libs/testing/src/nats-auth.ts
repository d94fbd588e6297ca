import { createUser, fromSeed } from '@nats-io/nkeys';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's NATS configuration (users, permissions, templates): the one production uses. */
export const NATS_CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../infra/nats');

/** Parley's own NATS users (infra/nats/users.conf). */
export const PARLEY_NATS_USERS = ['registration', 'presence-proxy', 'buffer', 'router', 'reporting', 'gateway-web', 'gateway-xmpp', 'admin'] as const;
export type ParleyNatsUser = (typeof PARLEY_NATS_USERS)[number];

/** The templates integrators copy (infra/nats/templates/<name>.conf) and the placeholders each one has. */
export const ROLE_TEMPLATES = {
  'channel-gateway': { block: 'GATEWAY_CHANNEL', placeholders: ['CHANNEL'], inbox: (v: Record<string, string>) => `_INBOX_gw_${v.CHANNEL}` },
  'desktop-bridge': { block: 'DESKTOP_BRIDGE', placeholders: ['BRIDGE', 'AGENT_1'], inbox: (v: Record<string, string>) => `_INBOX_desk_${v.BRIDGE}` },
  bot: { block: 'BOT', placeholders: ['BOT'], inbox: (v: Record<string, string>) => `_INBOX_bot_${v.BOT}` },
  analyst: { block: 'ANALYST', placeholders: ['ANALYST'], inbox: (v: Record<string, string>) => `_INBOX_analyst_${v.ANALYST}` },
  registrar: { block: 'REGISTRAR', placeholders: ['REGISTRAR'], inbox: (v: Record<string, string>) => `_INBOX_registrar_${v.REGISTRAR}` },
} as const;
export type RoleTemplate = keyof typeof ROLE_TEMPLATES;

/** An integrator user made from a template, as an operator would add one to users.conf. */
export interface RoleUser {
  /** A name for the user's key file and permission block (letters, digits, "_"). */
  name: string;
  template: RoleTemplate;
  values: Record<string, string>;
}

/** The environment variable holding a user's public nkey for nats-server. */
export const nkeyVariable = (user: string) => `PARLEY_NKEY_${user.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/** The inbox prefix a Parley service connects with (its permissions allow replies only there). */
export const serviceInboxPrefix = (user: string) => `_INBOX_${user.replace(/[^A-Za-z0-9]/g, '_')}`;

/**
 * A user's nkey seed in `<dir>/<user>.nk` (0600), made once and kept, so restarts keep their identity. Returns
 * the seed file and the public key nats-server is given.
 */
export function ensureNkey(dir: string, user: string): { seedFile: string; publicKey: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const seedFile = join(dir, `${user}.nk`);
  if (!existsSync(seedFile)) {
    writeFileSync(seedFile, `${new TextDecoder().decode(createUser().getSeed())}\n`, { mode: 0o600 });
  }
  chmodSync(seedFile, 0o600);
  const publicKey = fromSeed(new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim())).getPublicKey();
  return { seedFile, publicKey };
}

/** A template's permission block with its placeholders filled, renamed for `user` so several can coexist. */
export function instantiateTemplate(role: RoleUser): string {
  const template = ROLE_TEMPLATES[role.template];
  for (const p of template.placeholders) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(role.values[p] ?? '')) throw new Error(`template ${role.template} needs ${p} (an ID)`);
  }
  let text = readFileSync(join(NATS_CONFIG_DIR, 'templates', `${role.template}.conf`), 'utf8');
  for (const p of template.placeholders) text = text.replaceAll(`{{${p}}}`, role.values[p]!);
  return text.replace(new RegExp(`^${template.block} = \\{`, 'm'), `ROLE_${role.name.toUpperCase()} = {`);
}

/**
 * users.conf with the integrators' users added, as an operator adds them, for a file in `dir` (its include of
 * permissions.conf made relative to `dir`, and `roles.conf` in `dir` with the integrators' blocks).
 */
export function usersConfig(dir: string, roles: RoleUser[], extraLines: string[] = []): string {
  const include = 'include "permissions.conf"';
  const source = readFileSync(join(NATS_CONFIG_DIR, 'users.conf'), 'utf8');
  if (!source.includes(include)) throw new Error('infra/nats/users.conf does not include permissions.conf');
  const base = source.replace(include, `include ${JSON.stringify(relative(dir, join(NATS_CONFIG_DIR, 'permissions.conf')))}\ninclude "roles.conf"`);
  const lines = [...roles.map((r) => `    { nkey: $${nkeyVariable(r.name)}, permissions: $ROLE_${r.name.toUpperCase()} }`), ...extraLines];
  const end = base.lastIndexOf('  ]');
  if (end < 0) throw new Error('infra/nats/users.conf has no users list');
  return `${base.slice(0, end)}${lines.map((l) => `${l}\n`).join('')}${base.slice(end)}`;
}

/**
 * The integrator users of the start command's demo: the demo contact center (a registrar for its address and the
 * bot demo-bot) and the command-line customer (a channel gateway for channel "cli").
 */
export const DEMO_NATS_ROLES: RoleUser[] = [
  { name: 'demo_registrar', template: 'registrar', values: { REGISTRAR: 'demo' } },
  { name: 'demo_bot', template: 'bot', values: { BOT: 'demo-bot' } },
  { name: 'demo_cli', template: 'channel-gateway', values: { CHANNEL: 'cli' } },
];

// Shared by the start and test commands: install what Parley needs on a fresh machine, or say exactly what to do.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const root = new URL('..', import.meta.url).pathname;

export function log(message) {
  process.stdout.write(`[parley] ${message}\n`);
}

export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

export function findExecutable(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/local/bin', '/usr/bin'];
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** node_modules from the lockfile when missing or older than the lockfile. */
export function ensureDependencies() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(join(root, 'package-lock.json')).mtimeMs) return;
  log('installing dependencies (npm ci) ...');
  if (run('npm', ['ci', '--no-audit', '--no-fund']) === 0) return;
  // npm ci refuses a lockfile that names optional platform builds the registry in use does not serve (seen with
  // @swc/core's darwin and win32 builds); npm install resolves the same locked versions and skips those.
  log('npm ci refused the lockfile; installing from it with npm install ...');
  if (run('npm', ['install', '--no-audit', '--no-fund', '--no-save']) !== 0) throw new Error('npm install failed');
}

/** A Debian package's program, installed with apt-get when missing and we are root; otherwise the command to run. */
export function ensureDebianProgram(program, pkg = program) {
  const found = process.env[`${program.toUpperCase().replace(/-/g, '_')}_BIN`] ?? findExecutable(program);
  if (found) return found;
  if (process.getuid?.() === 0 && findExecutable('apt-get')) {
    log(`${program} is missing: installing the Debian package ${pkg} ...`);
    if (run('apt-get', ['update', '-qq']) !== 0 || run('apt-get', ['install', '-y', '-qq', pkg], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }) !== 0) {
      throw new Error(`apt-get install ${pkg} failed`);
    }
    const installed = findExecutable(program);
    if (installed) return installed;
  }
  throw new Error(`${program} is not installed. Run: sudo apt-get update && sudo apt-get install -y ${pkg}  (or put ${program} on PATH)`);
}

export const nxEnv = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_SKIP_NX_CACHE: process.env.CI ? 'true' : process.env.NX_SKIP_NX_CACHE };

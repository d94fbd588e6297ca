import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// semver comes with npm's own tooling in node_modules (nx, eslint); it is only read here.
const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean; minVersion(range: string): { version: string } | null };

interface LockEntry {
  version?: string;
  optionalDependencies?: Record<string, string>;
  engines?: Record<string, string> | string[];
  link?: boolean;
}
const lock = JSON.parse(readFileSync(fileURLToPath(new URL('../../package-lock.json', import.meta.url)), 'utf8')) as { packages: Record<string, LockEntry> };
const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { engines: { node: string } };

/** Where Node would find `dep` from the package at `path` (its own node_modules, then each parent's). */
function resolves(path: string, dep: string): boolean {
  let at = path;
  for (;;) {
    if (lock.packages[`${at ? `${at}/` : ''}node_modules/${dep}`]) return true;
    if (!at) return false;
    const i = at.lastIndexOf('/node_modules/');
    at = i < 0 ? '' : at.slice(0, i);
  }
}

describe('install (npm ci on a fresh clone, Node 20)', () => {
  it('locks every optional dependency of every locked package, so npm ci cannot stop on a missing platform build', () => {
    const missing: string[] = [];
    let checked = 0;
    for (const [path, entry] of Object.entries(lock.packages)) {
      for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
        checked++;
        if (!resolves(path, dep)) missing.push(`${path || '(root)'} -> ${dep}`);
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  it('locks no package whose engines.node excludes the oldest Node the project supports (20.19)', () => {
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    expect(oldest).toBe('20.19.0');
    const excluded = Object.entries(lock.packages)
      .filter(([, e]) => !Array.isArray(e.engines) && typeof e.engines?.node === 'string')
      .filter(([, e]) => !semver.satisfies(oldest, (e.engines as Record<string, string>).node))
      .map(([path, e]) => `${path}@${e.version}: engines.node ${(e.engines as Record<string, string>).node}`);
    expect(excluded).toEqual([]);
    // The check itself can fail: a range of Node 22 and later excludes 20.19.
    expect(semver.satisfies(oldest, '>=22')).toBe(false);
  });
});

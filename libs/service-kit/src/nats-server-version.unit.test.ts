import { describe, expect, it } from 'vitest';
import { MIN_PRODUCTION_NATS_SERVER, compareVersions, natsServerVersionWarning, reportNatsServerVersion } from './nats-server-version.js';

describe('nats-server version check', () => {
  it('orders versions numerically, not as text', () => {
    expect(compareVersions('2.9.10', '2.10.23')).toBeLessThan(0);
    expect(compareVersions('2.10.23', '2.10.23')).toBe(0);
    expect(compareVersions('2.10.100', '2.10.23')).toBeGreaterThan(0);
    expect(compareVersions('v2.11.0', '2.10.23')).toBeGreaterThan(0);
    expect(compareVersions('nope', '2.10.23')).toBeUndefined();
  });

  it('warns below the production minimum and not from it on', () => {
    expect(MIN_PRODUCTION_NATS_SERVER).toBe('2.10.23');
    expect(natsServerVersionWarning('2.9.10')).toContain('2.9.10 is older than 2.10.23');
    expect(natsServerVersionWarning('2.10.22')).toBeDefined();
    expect(natsServerVersionWarning('2.10.23')).toBeUndefined();
    expect(natsServerVersionWarning('2.11.4')).toBeUndefined();
    expect(natsServerVersionWarning(undefined)).toContain('did not say its version');
  });

  it('logs the connected version and warns only for an old server', () => {
    const seen = (version: string) => {
      const logs: unknown[] = [];
      const warnings: unknown[] = [];
      reportNatsServerVersion({ info: { version } as never }, { log: (m) => logs.push(m), warn: (m) => warnings.push(m) });
      return { logs, warnings };
    };
    const old = seen('2.9.10');
    expect(old.logs).toEqual([expect.objectContaining({ msg: 'connected to nats-server', version: '2.9.10' })]);
    expect(old.warnings).toEqual([expect.objectContaining({ version: '2.9.10', minimumForProduction: '2.10.23' })]);
    expect(seen('2.10.24').warnings).toEqual([]);
  });
});

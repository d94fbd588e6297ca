import { Type } from 'class-transformer';
import { IsInt, Min } from 'class-validator';
import { createUser } from '@nats-io/nkeys';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ServiceConfig, loadConfig, streamDurability } from './service-config.js';

class ExampleConfig extends ServiceConfig {
  @Type(() => Number)
  @IsInt({ message: 'OFFER_TIMEOUT_SECONDS must be an integer' })
  @Min(1)
  OFFER_TIMEOUT_SECONDS = 30;
}

describe('loadConfig', () => {
  it('takes defaults and converts numbers from the environment', () => {
    const c = loadConfig(ExampleConfig, { OFFER_TIMEOUT_SECONDS: '12', NATS_URL: 'nats://127.0.0.1:5000,nats://127.0.0.1:5001' });
    expect(c.OFFER_TIMEOUT_SECONDS).toBe(12);
    expect(c.NATS_URL).toBe('nats://127.0.0.1:5000,nats://127.0.0.1:5001');
    expect(c.HTTP_HOST).toBe('127.0.0.1');
    expect(c.LOG_LEVEL).toBe('info');
  });

  it('names every bad variable and its value', () => {
    let error: unknown;
    try {
      loadConfig(ExampleConfig, { OFFER_TIMEOUT_SECONDS: 'soon', NATS_URL: 'http://x', LOG_LEVEL: 'loud', HTTP_PORT: '70000' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['OFFER_TIMEOUT_SECONDS="soon"', 'NATS_URL="http://x"', 'LOG_LEVEL="loud"', 'HTTP_PORT="70000"']) expect(problems).toContain(name);
  });

  it('ignores variables the service does not declare', () => {
    expect(loadConfig(ExampleConfig, { UNRELATED: 'x' })).not.toHaveProperty('UNRELATED');
  });

  it('reads the stream durability settings, defaulting to one replica on file, and refuses others', () => {
    expect(streamDurability(loadConfig(ExampleConfig, {}))).toEqual({ replicas: 1, storage: 'file' });
    expect(streamDurability(loadConfig(ExampleConfig, { PARLEY_STREAM_REPLICAS: '3', PARLEY_STREAM_STORAGE: 'memory' }))).toEqual({ replicas: 3, storage: 'memory' });
    let error: unknown;
    try {
      loadConfig(ExampleConfig, { PARLEY_STREAM_REPLICAS: '2', PARLEY_STREAM_STORAGE: 'disk' });
    } catch (err) {
      error = err;
    }
    expect((error as ConfigError).problems).toEqual([
      'PARLEY_STREAM_REPLICAS="2": PARLEY_STREAM_REPLICAS must be 1, 3 or 5',
      'PARLEY_STREAM_STORAGE="disk": PARLEY_STREAM_STORAGE must be file or memory',
    ]);
  });

  it('takes an optional NATS user and password', () => {
    const c = loadConfig(ExampleConfig, { NATS_USER: 'router', NATS_PASSWORD: 'placeholder' });
    expect([c.NATS_USER, c.NATS_PASSWORD]).toEqual(['router', 'placeholder']);
    expect(() => loadConfig(ExampleConfig, { NATS_USER: 'bad user' })).toThrow(/NATS_USER must be/);
  });
});

describe('NATS credentials and TLS settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-config-'));
  const file = (name: string, content: string) => {
    writeFileSync(join(dir, name), content, { mode: 0o600 });
    return join(dir, name);
  };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(ServiceConfig, env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems.join('\n') + (err as ConfigError).message;
    }
    return '';
  };

  it('takes a seed file holding an nkey user seed, and TLS files that exist', () => {
    const seed = file('svc.nk', `${new TextDecoder().decode(createUser().getSeed())}\n`);
    const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\n');
    expect(loadConfig(ServiceConfig, { NATS_NKEY_SEED_FILE: seed, NATS_TLS_CA_FILE: ca })).toMatchObject({ NATS_NKEY_SEED_FILE: seed, NATS_TLS_CA_FILE: ca });
  });

  it("stops at start on a missing or wrong seed file, naming the variable but never the file's content", () => {
    const secretLooking = 'SUNOTAREALSEEDBUTSECRETLOOKINGTEXT';
    const wrong = file('wrong.nk', secretLooking);
    expect(problems({ NATS_NKEY_SEED_FILE: join(dir, 'missing.nk') })).toContain('NATS_NKEY_SEED_FILE');
    const text = problems({ NATS_NKEY_SEED_FILE: wrong });
    expect(text).toContain('NATS_NKEY_SEED_FILE');
    expect(text).not.toContain(secretLooking);
  });

  it('wants a client certificate and its key together, and masks credentials written into NATS_URL', () => {
    const cert = file('c.pem', 'x');
    expect(problems({ NATS_TLS_CERT_FILE: cert })).toContain('NATS_TLS_KEY_FILE');
    const text = problems({ NATS_URL: 'nats://alice:hunter2@127.0.0.1:4222 bad' });
    expect(text).toContain('NATS_URL');
    expect(text).not.toContain('hunter2');
  });
});

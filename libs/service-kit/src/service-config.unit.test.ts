import { Type } from 'class-transformer';
import { IsInt, Min } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { ConfigError, ServiceConfig, loadConfig } from './service-config.js';

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
});

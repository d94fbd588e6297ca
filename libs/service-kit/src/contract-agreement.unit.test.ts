import Ajv from 'ajv';
import fc from 'fast-check';
import * as requests from '@parley/contracts';
import { ParleyError } from '@parley/errors';
import { type JsonSchema, mutatedValue, nest, validValue } from '@parley/testing';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_LIMITS, checkPayloadShape } from './payload-guard.js';
import { checkSubjectTokens, parsePayload, validatePayload } from './request-router.service.js';

interface Doc {
  info: { 'x-parley-limits': { maxBytes: number; maxDepth: number; maxNodes: number; reservedKeys: string[] } };
  channels: Record<string, { address: string | null; messages: Record<string, unknown>; parameters?: Record<string, { 'x-pattern'?: string }> }>;
  operations: Record<string, { action: string; channel: { $ref: string } }>;
  components: { schemas: Record<string, JsonSchema> };
}
const doc = parse(readFileSync(fileURLToPath(new URL('../../../docs/asyncapi.yaml', import.meta.url)), 'utf8')) as Doc;
const limits = doc.info['x-parley-limits'];
const ajv = new Ajv({ allErrors: false });

/** Every request the contract receives: the channel address and the payload class of its one message. */
const received = Object.values(doc.operations)
  .filter((o) => o.action === 'receive')
  .map((o) => doc.channels[o.channel.$ref.split('/').at(-1)!]!)
  .map((channel) => ({ channel, name: Object.keys(channel.messages)[0]! }));

/** What the contract says of a body: the schema, and the documented limits on every body. */
function contractAccepts(schema: JsonSchema, body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  if (Buffer.byteLength(JSON.stringify(body)) > limits.maxBytes) return false;
  try {
    checkPayloadShape(body);
  } catch {
    return false;
  }
  return ajv.validate(schema as object, body) as boolean;
}

async function codeAccepts(cls: new () => object, body: unknown): Promise<boolean> {
  try {
    await parsePayload(cls, new TextEncoder().encode(JSON.stringify(body)));
    return true;
  } catch (err) {
    expect(err).toBeInstanceOf(ParleyError);
    expect((err as ParleyError).code).toBe('invalid-payload');
    return false;
  }
}

describe('docs/asyncapi.yaml and the validators say the same thing', () => {
  it('states the limits the code enforces on every body', () => {
    expect({ maxBytes: limits.maxBytes, maxDepth: limits.maxDepth, maxNodes: limits.maxNodes }).toEqual(PAYLOAD_LIMITS);
    expect(new Set(limits.reservedKeys)).toEqual(requests.RESERVED_KEYS);
  });

  for (const { name } of received) {
    it(`${name}: a body is accepted by the code exactly when the contract accepts it`, async () => {
      const schema = doc.components.schemas[name]!;
      const cls = (requests as unknown as Record<string, new () => object>)[name]!;
      await fc.assert(
        fc.asyncProperty(fc.oneof(validValue(schema), mutatedValue(schema)), async (body) => {
          expect(await codeAccepts(cls, body), JSON.stringify(body)?.slice(0, 300)).toBe(contractAccepts(schema, body));
        }),
        { numRuns: 150 },
      );
    });
  }

  it('documents a pattern for every subject token a handler reads, and the code checks it', () => {
    const withParams = received.filter(({ channel }) => channel.address?.includes('{'));
    expect(withParams.length).toBeGreaterThan(0);
    for (const { channel } of withParams) {
      for (const p of Object.values(channel.parameters ?? {})) expect(p['x-pattern']).toBe('^[A-Za-z0-9_-]{1,64}$');
      const pattern = channel.address!.replace(/\{\w+\}/g, '*');
      expect(() => checkSubjectTokens(pattern, pattern.replace('*', 'support'))).not.toThrow();
      for (const bad of ['x'.repeat(65), 'a+b', '%', 'é']) expect(() => checkSubjectTokens(pattern, pattern.replace('*', bad))).toThrow(ParleyError);
    }
  });
});

describe('bounded bodies (defect 3) and reserved keys (defect 4)', () => {
  it('refuses a field nested 2,000 levels with invalid-payload, not a stack overflow', async () => {
    for (const kind of ['array', 'object'] as const) {
      const body = { channel: 'web', from: 'a@b.test', to: 'c@d.test', client: nest(2_000, kind) };
      await expect(validatePayload(requests.SubscribeRequest, body)).rejects.toMatchObject({ code: 'invalid-payload' });
      await expect(parsePayload(requests.SubscribeRequest, new TextEncoder().encode(JSON.stringify(body)))).rejects.toMatchObject({ code: 'invalid-payload' });
    }
  });

  it('refuses bodies over the byte limit and bodies that are not UTF-8', async () => {
    await expect(parsePayload(requests.LookupRequest, new Uint8Array(PAYLOAD_LIMITS.maxBytes + 1).fill(32))).rejects.toMatchObject({ code: 'invalid-payload' });
    await expect(parsePayload(requests.LookupRequest, new Uint8Array([0x7b, 0xff, 0x7d]))).rejects.toMatchObject({ code: 'invalid-payload' });
  });

  it('refuses a skill named like a prototype member, and keeps ordinary skills as plain keys', async () => {
    const login = { agentId: 'a', displayName: 'A', kind: 'bot', languages: [], capabilities: [] };
    for (const key of ['constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty']) {
      const body = JSON.parse(JSON.stringify(login).replace(/}$/, `,"skills":{"${key}":3}}`)) as unknown;
      await expect(validatePayload(requests.AgentLoginRequest, body), key).rejects.toMatchObject({ code: 'invalid-payload' });
    }
    const ok = await validatePayload(requests.AgentLoginRequest, { ...login, skills: { billing: 3, constructor_x: 2 } });
    expect(ok.skills).toEqual({ billing: 3, constructor_x: 2 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a statusId that cannot be a header, and a client that is an array (defects 5 and 6)', async () => {
    for (const statusId of ['a\nb', 'a\r\nb', 'a b', '', 'x'.repeat(129)]) {
      await expect(validatePayload(requests.StatusReportRequest, { sessionId: 's1', statusId, position: 0, estimatedWaitSeconds: 0 }), JSON.stringify(statusId)).rejects.toMatchObject({
        code: 'invalid-payload',
      });
    }
    await expect(validatePayload(requests.StatusReportRequest, { sessionId: 's1', statusId: 's1.status.p0.12', position: 0, estimatedWaitSeconds: 0 })).resolves.toBeDefined();
    await expect(validatePayload(requests.SubscribeRequest, { channel: 'web', from: 'a@b.test', to: 'c@d.test', client: [] })).rejects.toMatchObject({ code: 'invalid-payload' });
  });
});

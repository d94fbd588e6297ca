import { Parser } from '@asyncapi/parser';
import { getMetadataStorage } from 'class-validator';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import * as requests from './requests.js';
import { SUBJECTS } from './subjects.js';

const source = readFileSync(fileURLToPath(new URL('../../../docs/asyncapi.yaml', import.meta.url)), 'utf8');
interface Doc {
  channels: Record<string, { address: string | null; messages: Record<string, { $ref: string }> }>;
  operations: Record<string, { action: string; channel: { $ref: string } }>;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
}
const doc = parse(source) as Doc;
const toPattern = (address: string) => address.replace(/\{\w+\}/g, '*');

describe('docs/asyncapi.yaml', () => {
  it('is a valid AsyncAPI 3 document', async () => {
    const { document, diagnostics } = await new Parser().parse(source);
    expect(diagnostics.filter((d) => d.severity === 0).map((d) => d.message)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
  }, 60_000); // the parser's rule set takes seconds of CPU: a loaded two-core machine needs the room

  it('has a channel for every subject of the contract, and no subject the code does not know', () => {
    const received = Object.values(doc.operations)
      .filter((o) => o.action === 'receive')
      .map((o) => toPattern(doc.channels[o.channel.$ref.split('/').at(-1)!]!.address!));
    expect(new Set(received)).toEqual(new Set(Object.values(SUBJECTS)));
  });

  it('describes each request with exactly the fields its payload class validates', () => {
    const storage = getMetadataStorage();
    for (const [key, op] of Object.entries(doc.operations)) {
      if (op.action !== 'receive') continue;
      const channel = doc.channels[op.channel.$ref.split('/').at(-1)!]!;
      const messageName = Object.keys(channel.messages)[0]!;
      const cls = (requests as Record<string, unknown>)[messageName] as (new () => object) | undefined;
      expect(cls, `payload class ${messageName} for ${key}`).toBeTypeOf('function');
      const validated = new Set(storage.getTargetValidationMetadatas(cls!, '', true, false).map((m) => m.propertyName));
      const documented = new Set(Object.keys(doc.components.schemas[messageName]!.properties ?? {}));
      expect(documented, messageName).toEqual(validated);
    }
  });
});

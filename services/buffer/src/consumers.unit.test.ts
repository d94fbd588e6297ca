import { DECLARED_CONSUMERS, consumerTableRows, documentedConsumerRows } from '@parley/service-kit';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import './delivery.process-manager.js';

describe('buffer events × consumers', () => {
  it('are the rows docs/architecture.md has for buffer (regenerate with node scripts/consumer-table.mjs)', () => {
    const generated = consumerTableRows('buffer', DECLARED_CONSUMERS);
    expect(generated.length).toBeGreaterThan(0);
    const doc = readFileSync(new URL('../../../docs/architecture.md', import.meta.url), 'utf8');
    expect(documentedConsumerRows(doc, 'buffer')).toEqual(generated);
  });
});

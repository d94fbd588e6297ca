import { DECLARED_CONSUMERS, consumerTableRows, documentedConsumerRows } from '@parley/service-kit';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import './offer.process-manager.js';

describe('router events × consumers', () => {
  it('are the rows docs/architecture.md has for router (regenerate with node scripts/consumer-table.mjs)', () => {
    const generated = consumerTableRows('router', DECLARED_CONSUMERS);
    expect(generated.length).toBeGreaterThan(0);
    const doc = readFileSync(new URL('../../../docs/architecture.md', import.meta.url), 'utf8');
    expect(documentedConsumerRows(doc, 'router')).toEqual(generated);
  });
});

import { DECLARED_CONSUMERS, consumerTableRows, documentedConsumerRows } from '@parley/service-kit';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import './intake.process-manager.js';

describe('presence-proxy events × consumers', () => {
  it('are the rows docs/architecture.md has for presence-proxy (regenerate with node scripts/consumer-table.mjs)', () => {
    const generated = consumerTableRows('presence-proxy', DECLARED_CONSUMERS);
    expect(generated.length).toBeGreaterThan(0);
    const doc = readFileSync(new URL('../../../docs/architecture.md', import.meta.url), 'utf8');
    expect(documentedConsumerRows(doc, 'presence-proxy')).toEqual(generated);
  });
});

import { MetricsService } from '@parley/service-kit';
import { describe, expect, it } from 'vitest';
import { OfferMetrics } from './offer-metrics.js';

describe('offer metrics', () => {
  it('exports made and expired offers on the service registry, both from zero', async () => {
    const metrics = new MetricsService();
    const offers = new OfferMetrics(metrics);
    expect(await metrics.registry.metrics()).toContain('parley_offers_total{outcome="expired"} 0');
    offers.offers.inc({ outcome: 'expired' });
    offers.offers.inc({ outcome: 'made' });
    offers.offers.inc({ outcome: 'made' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('parley_offers_total{outcome="expired"} 1');
    expect(text).toContain('parley_offers_total{outcome="made"} 2');
  });
});

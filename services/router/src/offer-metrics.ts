import { Injectable } from '@nestjs/common';
import { MetricsService } from '@parley/service-kit';
import { Counter } from 'prom-client';

/** Offers this router instance made and offers it expired because the agent answered within none of OFFER_TIMEOUT_SECONDS; stray conversations it ended. */
@Injectable()
export class OfferMetrics {
  readonly offers: Counter<'outcome'>;
  /** Conversations ended by the router because their session had ended or moved before they started (faults). */
  readonly strayConversations: Counter;

  constructor(metrics: MetricsService) {
    this.offers = new Counter({ name: 'parley_offers_total', help: 'Offers made and offers expired unanswered by this router instance', labelNames: ['outcome'], registers: [metrics.registry] });
    // Both series exist from the start, so a rate over them is 0 rather than absent.
    this.offers.inc({ outcome: 'made' }, 0);
    this.offers.inc({ outcome: 'expired' }, 0);
    this.strayConversations = new Counter({
      name: 'parley_stray_conversations_ended_total',
      help: "Agents' conversations this router instance ended because their session had ended or moved before they started",
      registers: [metrics.registry],
    });
  }
}

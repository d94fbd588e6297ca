import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one service: process defaults plus request and event-handling counters. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly requests: Counter<'subject' | 'outcome'>;
  readonly requestSeconds: Histogram<'subject'>;
  readonly eventsHandled: Counter<'consumer' | 'outcome'>;
  readonly deliveries: Counter<'kind'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_' });
    this.requests = new Counter({ name: 'parley_requests_total', help: 'NATS requests answered, by subject and outcome (ok or error code)', labelNames: ['subject', 'outcome'], registers: [this.registry] });
    this.requestSeconds = new Histogram({
      name: 'parley_request_duration_seconds',
      help: 'Time to answer a NATS request',
      labelNames: ['subject'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
    this.eventsHandled = new Counter({ name: 'parley_events_handled_total', help: 'Events handled by durable consumers', labelNames: ['consumer', 'outcome'], registers: [this.registry] });
    this.deliveries = new Counter({ name: 'parley_deliveries_total', help: 'Deliveries published to customers and agents', labelNames: ['kind'], registers: [this.registry] });
  }
}

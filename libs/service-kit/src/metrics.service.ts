import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one service: process defaults plus request and event-handling counters. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly requests: Counter<'subject' | 'outcome'>;
  readonly requestSeconds: Histogram<'subject'>;
  readonly eventsHandled: Counter<'consumer' | 'outcome'>;
  readonly deliveries: Counter<'kind'>;
  readonly eventsParked: Counter<'consumer'>;
  readonly consumerLag: Gauge<'consumer'>;
  readonly projectionPosition: Gauge<'projection'>;
  readonly stateReads: Counter<'source'>;
  readonly consumersRecreated: Counter<'consumer'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_' });
    this.requests = new Counter({
      name: 'parley_requests_total',
      help: 'NATS requests answered, by subject and outcome (ok or error code)',
      labelNames: ['subject', 'outcome'],
      registers: [this.registry],
    });
    this.requestSeconds = new Histogram({
      name: 'parley_request_duration_seconds',
      help: 'Time to answer a NATS request',
      labelNames: ['subject'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
    this.eventsHandled = new Counter({ name: 'parley_events_handled_total', help: 'Events handled by durable consumers', labelNames: ['consumer', 'outcome'], registers: [this.registry] });
    this.deliveries = new Counter({ name: 'parley_deliveries_total', help: 'Deliveries published to customers and agents', labelNames: ['kind'], registers: [this.registry] });
    this.eventsParked = new Counter({
      name: 'parley_events_parked_total',
      help: 'Events a consumer gave up on after its retries, kept on PARLEY_PARKED',
      labelNames: ['consumer'],
      registers: [this.registry],
    });
    this.consumerLag = new Gauge({ name: 'parley_consumer_lag_events', help: 'Events stored but not yet handled by a durable consumer', labelNames: ['consumer'], registers: [this.registry] });
    this.projectionPosition = new Gauge({ name: 'parley_projection_position', help: 'Position of the last event a projection applied', labelNames: ['projection'], registers: [this.registry] });
    this.stateReads = new Counter({
      name: 'parley_aggregate_state_total',
      help: 'Where a handler got an aggregate state: memory (hit) or a stream read (miss)',
      labelNames: ['source'],
      registers: [this.registry],
    });
    this.consumersRecreated = new Counter({
      name: 'parley_consumers_recreated_total',
      help: 'Durable consumers started again after an error (a server restart, say)',
      labelNames: ['consumer'],
      registers: [this.registry],
    });
  }
}

import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscardPolicy, JetStreamApiError, type JetStreamClient, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import { type AgentDelivery, type CustomerDelivery, DELIVERY_STREAM, DELIVERY_SUBJECTS, agentDeliverSubject, imDeliverSubject } from '@parley/contracts';
import { MetricsService } from './metrics.service.js';
import { NATS_CONNECTION } from './tokens.js';

/**
 * Deliveries to customers and agents go on a JetStream stream, so a gateway or desktop that reconnects misses
 * nothing. The delivery ID is the JetStream message ID: a redelivery after a crash repeats the same ID and is
 * stored once within the duplicate window; a consumer can drop any repeat beyond it by ID.
 */
@Injectable()
export class DeliveryPublisher implements OnModuleInit {
  private js!: JetStreamClient;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly metrics: MetricsService,
  ) {}

  async onModuleInit(): Promise<void> {
    this.js = jetstream(this.nc);
    await ensureDeliveryStream(this.nc);
  }

  async toCustomer(channel: string, delivery: CustomerDelivery): Promise<void> {
    await this.js.publish(imDeliverSubject(channel), JSON.stringify(delivery), { msgID: delivery.deliveryId });
    this.metrics.deliveries.inc({ kind: `customer-${delivery.kind}` });
  }

  async toAgent(agentId: string, delivery: AgentDelivery): Promise<void> {
    await this.js.publish(agentDeliverSubject(agentId), JSON.stringify(delivery), { msgID: delivery.deliveryId });
    this.metrics.deliveries.inc({ kind: `agent-${delivery.kind}` });
  }
}

export async function ensureDeliveryStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name: DELIVERY_STREAM,
    subjects: [...DELIVERY_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(7 * 24 * 3600 * 1000),
    duplicate_window: nanos(120_000),
  };
  try {
    await jsm.streams.info(DELIVERY_STREAM);
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.status !== 404) throw err;
    try {
      await jsm.streams.add(config);
    } catch (addErr) {
      if (!(addErr instanceof JetStreamApiError)) throw addErr;
    }
  }
}

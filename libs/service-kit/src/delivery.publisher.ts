import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscardPolicy, RetentionPolicy } from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import { type AgentDelivery, type CustomerDelivery, DELIVERY_STREAM, DELIVERY_SUBJECTS, agentDeliverSubject, imDeliverSubject } from '@parley/contracts';
import { DEFAULT_DURABILITY, JetStreamPublisher, type StreamDurability, ensureDurableStream } from '@parley/event-store';
import { MetricsService } from './metrics.service.js';
import { type ServiceConfig, streamDurability } from './service-config.js';
import { NATS_CONNECTION, SERVICE_CONFIG } from './tokens.js';
import { tracedPublish, tracingEnabled } from './tracing.js';
import { injectTraceHeaders } from '@parley/event-store';
import type { Attributes } from '@opentelemetry/api';

/**
 * Deliveries to customers and agents go on a JetStream stream, so a gateway or desktop that reconnects misses
 * nothing. The delivery ID is the JetStream message ID: a redelivery after a crash repeats the same ID and is
 * stored once within the duplicate window; a consumer can drop any repeat beyond it by ID.
 */
@Injectable()
export class DeliveryPublisher implements OnModuleInit {
  private js!: JetStreamPublisher;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly metrics: MetricsService,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.js = new JetStreamPublisher(this.nc);
    await ensureDeliveryStream(this.nc, streamDurability(this.config), warnSettingsDiffer);
  }

  async toCustomer(channel: string, delivery: CustomerDelivery): Promise<void> {
    await this.publish(imDeliverSubject(channel), delivery, { 'parley.channel': channel });
    this.metrics.deliveries.inc({ kind: `customer-${delivery.kind}` });
  }

  async toAgent(agentId: string, delivery: AgentDelivery): Promise<void> {
    await this.publish(agentDeliverSubject(agentId), delivery, { 'parley.agent.id': agentId });
    this.metrics.deliveries.inc({ kind: `agent-${delivery.kind}` });
  }

  private async publish(subject: string, delivery: CustomerDelivery | AgentDelivery, recipient: Attributes): Promise<void> {
    const publish = async () => {
      // Traced, the delivery's headers carry its span's context to the gateway that relays it.
      await this.js.publish(subject, JSON.stringify(delivery), { msgID: delivery.deliveryId, headers: tracingEnabled() ? injectTraceHeaders() : undefined });
    };
    await (tracingEnabled() ? tracedPublish(subject, delivery, recipient, publish) : publish());
  }
}

/**
 * Creates the deliveries stream with the asked replicas and storage when missing. An existing one stored otherwise
 * refuses (StreamDurabilityError); other settings that differ are reported to `onSettingsDiffer` and left as they are.
 */
export async function ensureDeliveryStream(nc: NatsConnection, durability: StreamDurability = DEFAULT_DURABILITY, onSettingsDiffer?: (stream: string, differences: string[]) => void): Promise<void> {
  const config = {
    name: DELIVERY_STREAM,
    subjects: [...DELIVERY_SUBJECTS],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(7 * 24 * 3600 * 1000),
    duplicate_window: nanos(120_000),
  };
  await ensureDurableStream(nc, config, durability, ['subjects', 'retention', 'discard', 'max_age', 'duplicate_window'], onSettingsDiffer);
}

const deliveryLogger = new Logger('Deliveries');

/** Logs a warning naming each setting of an existing stream that differs from what this version creates. */
export const warnSettingsDiffer = (stream: string, differences: string[]): void => deliveryLogger.warn({ msg: 'stream settings differ from what this version creates', stream, differences });

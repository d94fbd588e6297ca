import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetStreamClientFor, jetStreamManagerFor, readBounded, untilJetStreamAnswers } from '@parley/event-store';
import { DELIVERY_STREAM, agentDeliverSubject, imDeliverSubject } from '@parley/contracts';
import { NATS_CONNECTION, SERVICE_CONFIG, type ServiceConfig, ensureDeliveryStream, streamDurability, tracedReceive, tracingEnabled, warnSettingsDiffer } from '@parley/service-kit';

export const WEB_CHANNEL = 'web';

/** A delivery with its place in the deliveries stream: browsers resume from the last place they saw. */
export interface Sequenced<T> {
  seq: number;
  delivery: T;
}

type Listener = (item: Sequenced<Record<string, unknown>>) => void;

/**
 * Deliveries for browsers: followed live from JetStream and fanned out to the sockets of their recipient, and
 * replayed from a stream sequence (or an instant) when a page reconnects or reloads, so it misses nothing.
 */
@Injectable()
export class DeliveryFeed implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('DeliveryFeed');
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly stops: (() => void)[] = [];
  private js!: JetStreamClient;
  private jsm!: JetStreamManager;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await ensureDeliveryStream(this.nc, streamDurability(this.config), warnSettingsDiffer);
    this.js = jetStreamClientFor(this.nc);
    this.jsm = await jetStreamManagerFor(this.nc);
    // Made at start, when a cluster may still be electing leaders: waited for like every stream and bucket.
    await untilJetStreamAnswers('customer delivery feed', () => this.follow(imDeliverSubject(WEB_CHANNEL), (m) => `customer:${m.json<{ to: string }>().to}`));
    await untilJetStreamAnswers('agent delivery feed', () => this.follow(agentDeliverSubject('*'), (m) => `agent:${m.subject.split('.').at(-1)}`));
  }

  private async follow(subject: string, keyOf: (m: JsMsg) => string): Promise<void> {
    const consumer = await this.js.consumers.get(DELIVERY_STREAM, { filter_subjects: subject, deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume();
    this.stops.push(() => messages.stop());
    void (async () => {
      for await (const m of messages) {
        const item = { seq: m.seq, delivery: m.json<Record<string, unknown>>() };
        const fanOut = () => {
          for (const l of this.listeners.get(keyOf(m)) ?? []) l(item);
        };
        if (!tracingEnabled()) fanOut();
        // The last hop of the trace that made the delivery: pushed to the recipient's open pages.
        else
          void tracedReceive(
            'push delivery',
            m.subject,
            m.headers,
            { 'parley.session.id': String(item.delivery.sessionId ?? ''), 'parley.delivery.kind': String(item.delivery.kind ?? '') },
            async () => fanOut(),
          );
      }
    })().catch((err: unknown) => this.logger.error({ msg: 'delivery feed stopped', subject, err: String(err) }));
  }

  listen(key: string, listener: Listener): () => void {
    const set = this.listeners.get(key) ?? new Set();
    set.add(listener);
    this.listeners.set(key, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(key);
    };
  }

  /** Deliveries on `subject` after `afterSeq` (or from `since` when no sequence is known), for one recipient. */
  async replay<T extends Record<string, unknown>>(subject: string, from: { afterSeq?: number; since?: string }, keep: (d: T) => boolean): Promise<Sequenced<T>[]> {
    const out: Sequenced<T>[] = [];
    const start = from.afterSeq !== undefined ? { sequence: from.afterSeq + 1 } : { time: from.since ?? new Date().toISOString() };
    for await (const m of readBounded(this.js, this.jsm, { stream: DELIVERY_STREAM, filterSubject: subject, from: start })) {
      const d = m.json<T>();
      if (keep(d)) out.push({ seq: m.seq, delivery: d });
    }
    return out;
  }

  beforeApplicationShutdown(): void {
    for (const stop of this.stops) stop();
  }
}

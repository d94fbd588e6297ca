import { Inject, Injectable, Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CenterSettings } from '@parley/center-config';
import { type QueueStats, SUBJECTS, SubscribeRequest, type SubscribeReply, statsQueueSubject } from '@parley/contracts';
import { type LocalizedText, type RouteDecision, pickText, requiredAgentCapabilities, sessionAddressFor, sessionAggregate } from '@parley/domain';
import { conflict } from '@parley/errors';
import { CommandHandler } from '@parley/event-store';
import { CENTER_SETTINGS, Handles, NATS_CONNECTION, type RequestContext, SERVICE_CONFIG, commandContext, natsRequest } from '@parley/service-kit';
import { randomBytes } from 'node:crypto';
import { CustomerSessionsIndex } from './customer-sessions.index.js';
import type { PresenceProxyConfig } from './presence-proxy.config.js';

interface Lookup {
  registered: boolean;
  open: boolean;
  entryPointId?: string;
  queueId?: string;
  flowId?: string | null;
  opensAt?: string | null;
  leaveMessage?: boolean;
  closedMessage?: LocalizedText;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * 128 random bits in lowercase base32: a session ID nobody can guess, and so a session address nobody can
 * guess. Lowercase because IM addresses are case-insensitive (XMPP servers lowercase the local part).
 */
export function newSessionId(): string {
  const bytes = randomBytes(16);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Answers a customer's subscription to a published address: unavailable with a reason (not registered, closed,
 * overloaded), or a session of their own, which starts with the entry point's intake flow when it has one.
 */
@Injectable()
export class SubscribeHandler {
  private readonly logger = new Logger('SubscribeHandler');
  private readonly lookups = new Map<string, Promise<Lookup>>();

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: PresenceProxyConfig,
    @Inject(CENTER_SETTINGS) private readonly center: CenterSettings,
    private readonly commands: CommandHandler,
    private readonly index: CustomerSessionsIndex,
  ) {
    commands.track(sessionAggregate);
  }

  @Handles(SUBJECTS.imSubscribe, SubscribeRequest)
  async subscribe(req: SubscribeRequest, ctx: RequestContext): Promise<SubscribeReply> {
    const lookup = await this.lookup(req.to);
    if (!lookup.registered || !lookup.entryPointId || !lookup.queueId) return { status: 'unavailable', reason: 'not-registered' };
    const locale = req.locale ?? null;
    const key = this.index.key(lookup.entryPointId, req.channel, req.from);
    const flow = this.center.flowFor(lookup.entryPointId, lookup.flowId);
    const route: RouteDecision = {
      queueId: lookup.queueId,
      priority: 0,
      requirements: { skills: {}, language: null, capabilities: requiredAgentCapabilities(this.center.capabilityRules, req.client?.capabilities ?? null) },
    };
    const notBefore = lookup.open ? null : (lookup.opensAt ?? null);
    const intake = flow && lookup.open ? { flowId: flow.id, start: flow.start } : null;
    for (let attempt = 0; attempt < 5; attempt++) {
      const sessionId = newSessionId();
      const claim = await this.index.claim(key, sessionId);
      if (claim.outcome === 'taken') {
        // Verified: memory lags an end written by another service, and the customer who starts again just after it
        // would be handed the ended session.
        const existing = await this.commands.load(sessionAggregate.stream(claim.sessionId), { verify: true });
        if (existing.state.status === 'opened') {
          // An earlier subscribe stored SessionOpened and lost its connection before the next event (the customer
          // retries because it got an error): finish that open, or the session would never be queued or offered.
          // Its own command ID: the first one's would derive the ID of the SessionOpened already stored.
          await this.commands.handle(
            sessionAggregate.stream(claim.sessionId),
            { kind: 'open', route, intake, notBefore, core: existing.state.core },
            commandContext(ctx.now, 'customer', `complete-open-${claim.sessionId}`),
          );
        }
        if (existing.state.status !== 'none' && existing.state.status !== 'ended') {
          return { status: 'available', sessionId: claim.sessionId, sessionAddress: existing.state.core.sessionAddress };
        }
        if (!(await this.index.replace(key, sessionId, claim.revision))) continue;
      }
      const refusal = lookup.open ? await this.overloaded(lookup.queueId, locale) : this.closed(lookup, locale);
      if (refusal) {
        await this.index.release(key, sessionId);
        return refusal;
      }
      const sessionAddress = sessionAddressFor(sessionId, req.to);
      await this.commands.handle(
        sessionAggregate.stream(sessionId),
        {
          kind: 'open',
          route,
          intake,
          notBefore,
          core: {
            sessionId,
            entryPointId: lookup.entryPointId,
            channel: req.channel,
            customerAddress: req.from,
            sessionAddress,
            client: req.client ? { name: req.client.name, version: req.client.version, capabilities: req.client.capabilities } : null,
            locale,
            customerId: req.customerId ?? null,
            openedAt: ctx.now,
          },
        },
        commandContext(ctx.now, 'customer', `open-${sessionId}`),
        // A session ID just drawn and claimed names a stream nobody has written: nothing to read first.
        { isNew: true },
      );
      if (lookup.open) return { status: 'available', sessionId, sessionAddress };
      return { status: 'available', sessionId, sessionAddress, opensAt: notBefore, message: this.closedText(lookup, locale) };
    }
    throw conflict('too many concurrent subscriptions for this customer; try again');
  }

  /**
   * Registration's answer for a published address. Subscribes that arrive while a lookup of the same address is in
   * flight share its answer (a burst of customers costs one lookup, not one each); nothing is kept after it.
   */
  private lookup(address: string): Promise<Lookup> {
    let pending = this.lookups.get(address);
    if (!pending) {
      pending = natsRequest<Lookup>(this.nc, SUBJECTS.registrationLookup, { address }, this.config.LOOKUP_TIMEOUT_MS).finally(() => this.lookups.delete(address));
      this.lookups.set(address, pending);
    }
    return pending;
  }

  private closedText(lookup: Lookup, locale: string | null): string {
    const text = lookup.closedMessage ? pickText(lookup.closedMessage, locale, 'en') : 'We are closed right now.';
    const opens = lookup.opensAt ? ` We open again at ${lookup.opensAt}.` : '';
    return lookup.leaveMessage ? `${text}${opens} Leave us a message and an agent will answer when we open.` : `${text}${opens}`;
  }

  private closed(lookup: Lookup, locale: string | null): SubscribeReply | null {
    if (lookup.leaveMessage) return null;
    return { status: 'unavailable', reason: 'closed', message: this.closedText(lookup, locale), opensAt: lookup.opensAt ?? null };
  }

  /** Beyond the queue's limits, new customers are turned away; without reporting's answer they are let in. */
  private async overloaded(queueId: string, locale: string | null): Promise<SubscribeReply | null> {
    const limits = this.center.queueLimits(queueId);
    if (!limits || (limits.maxWaiting === null && limits.maxEstimatedWaitSeconds === null)) return null;
    let stats: QueueStats;
    try {
      stats = await natsRequest<QueueStats>(this.nc, statsQueueSubject(queueId), {}, this.config.QUEUE_STATS_TIMEOUT_MS);
    } catch (err) {
      this.logger.warn({ msg: 'queue statistics unavailable; admitting the customer', queueId, err: String(err) });
      return null;
    }
    const tooMany = limits.maxWaiting !== null && stats.waiting >= limits.maxWaiting;
    const tooLong = limits.maxEstimatedWaitSeconds !== null && stats.estimatedWaitSeconds > limits.maxEstimatedWaitSeconds;
    if (!tooMany && !tooLong) return null;
    return { status: 'unavailable', reason: 'overloaded', message: pickText(limits.overloadedMessage, locale, 'en') };
  }
}

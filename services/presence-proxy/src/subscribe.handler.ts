import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS, SubscribeRequest, type SubscribeReply } from '@parley/contracts';
import { sessionAddressFor, sessionDecider } from '@parley/domain';
import { conflict } from '@parley/errors';
import { CommandHandler } from '@parley/event-store';
import { Handles, NATS_CONNECTION, type RequestContext, SERVICE_CONFIG, commandContext, natsRequest } from '@parley/service-kit';
import { randomBytes } from 'node:crypto';
import { CustomerSessionsIndex } from './customer-sessions.index.js';
import type { PresenceProxyConfig } from './presence-proxy.config.js';

interface Lookup {
  registered: boolean;
  open: boolean;
  entryPointId?: string;
  queueId?: string;
}

/** 128 random bits: a session ID nobody can guess, and so a session address nobody can guess. */
const newSessionId = () => randomBytes(16).toString('base64url');

/** Answers a customer's subscription to a published address: unavailable with a reason, or a session of their own. */
@Injectable()
export class SubscribeHandler {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: PresenceProxyConfig,
    private readonly commands: CommandHandler,
    private readonly index: CustomerSessionsIndex,
  ) {}

  @Handles(SUBJECTS.imSubscribe, SubscribeRequest)
  async subscribe(req: SubscribeRequest, ctx: RequestContext): Promise<SubscribeReply> {
    const lookup = await natsRequest<Lookup>(this.nc, SUBJECTS.registrationLookup, { address: req.to }, this.config.LOOKUP_TIMEOUT_MS);
    if (!lookup.registered || !lookup.entryPointId || !lookup.queueId) return { status: 'unavailable', reason: 'not-registered' };
    if (!lookup.open) return { status: 'unavailable', reason: 'closed' };
    const key = this.index.key(lookup.entryPointId, req.channel, req.from);
    for (let attempt = 0; attempt < 5; attempt++) {
      const sessionId = newSessionId();
      const claim = await this.index.claim(key, sessionId);
      if (claim.outcome === 'taken') {
        const existing = await this.commands.load(sessionDecider, { aggregate: 'session', id: claim.sessionId });
        if (existing.state.status === 'queued' || existing.state.status === 'assigned') {
          return { status: 'available', sessionId: claim.sessionId, sessionAddress: existing.state.core.sessionAddress };
        }
        if (!(await this.index.replace(key, sessionId, claim.revision))) continue;
      }
      const sessionAddress = sessionAddressFor(sessionId, req.to);
      await this.commands.handle(
        sessionDecider,
        { aggregate: 'session', id: sessionId },
        {
          kind: 'open',
          route: { queueId: lookup.queueId, priority: 0, requirements: { skills: {}, language: null, capabilities: [] } },
          intake: null,
          notBefore: null,
          core: {
            sessionId,
            entryPointId: lookup.entryPointId,
            channel: req.channel,
            customerAddress: req.from,
            sessionAddress,
            client: req.client ? { name: req.client.name, version: req.client.version, capabilities: req.client.capabilities } : null,
            locale: req.locale ?? null,
            openedAt: ctx.now,
          },
        },
        commandContext(ctx.now, 'customer', `open-${sessionId}`),
      );
      return { status: 'available', sessionId, sessionAddress };
    }
    throw conflict('too many concurrent subscriptions for this customer; try again');
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS, SessionLookupRequest, type SessionLookupReply } from '@parley/contracts';
import { sessionAggregate } from '@parley/domain';
import { CommandHandler } from '@parley/event-store';
import { Handles, NATS_CONNECTION, SERVICE_CONFIG, natsRequest } from '@parley/service-kit';
import { CustomerSessionsIndex } from './customer-sessions.index.js';
import type { PresenceProxyConfig } from './presence-proxy.config.js';

/**
 * A customer's open session at a published address, found without opening one: a gateway asks this on a logout
 * or an unsubscribe, where asking `parley.v1.im.subscribe` would open a fresh session when none is open.
 */
@Injectable()
export class SessionLookupHandler {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: PresenceProxyConfig,
    private readonly commands: CommandHandler,
    private readonly index: CustomerSessionsIndex,
  ) {}

  @Handles(SUBJECTS.imSessionLookup, SessionLookupRequest)
  async lookup(req: SessionLookupRequest): Promise<SessionLookupReply> {
    const entryPoint = await natsRequest<{ registered: boolean; entryPointId?: string }>(this.nc, SUBJECTS.registrationLookup, { address: req.to }, this.config.LOOKUP_TIMEOUT_MS);
    if (!entryPoint.registered || !entryPoint.entryPointId) return { open: false };
    const sessionId = await this.index.current(this.index.key(entryPoint.entryPointId, req.channel, req.from));
    if (!sessionId) return { open: false };
    // Verified: what this process remembers lags an end written by another service (the buffer, the router's
    // wrap-up), and a stale "open" would send the gateway's unsubscribe to a session that is already over.
    const { state } = await this.commands.load(sessionAggregate.stream(sessionId), { verify: true });
    if (state.status === 'none' || state.status === 'ended') return { open: false };
    return { open: true, sessionId, sessionAddress: state.core.sessionAddress };
  }
}

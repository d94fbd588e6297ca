import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS } from '@parley/contracts';
import { SHARED_CANNED_OWNER, presenceOf } from '@parley/domain';
import { conflict, forbidden, invalidPayload, notFound } from '@parley/errors';
import { NATS_CONNECTION, natsRequest, validatePayload } from '@parley/service-kit';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { type SessionRecord, LiveEvents } from './live-events.service.js';
import { type Role, TokenSigner } from './tokens.js';
import { WebUsers } from './web-users.js';

class Note {
  @IsString() @MinLength(1) @MaxLength(128) noteId!: string;
  @IsString() @MinLength(1) @MaxLength(4_000) body!: string;
}
class Canned {
  @IsOptional() @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'cannedId must be an ID' }) cannedId?: string;
  @Matches(/^[a-z0-9_-]{1,32}$/, { message: 'shortcut must be 1-32 lowercase letters, digits, "-" or "_"' }) shortcut!: string;
  @IsString() @MinLength(1) @MaxLength(100) title!: string;
  @IsString() @MinLength(1) @MaxLength(4_000) body!: string;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const bearer = (authorization?: string) => authorization?.replace(/^Bearer\s+/i, '');
const RECENT_MS = 12 * 3600_000;

/** A conversation as a desk or the dashboard shows it: the customer panel, the transcript, earlier sessions. */
export function conversationView(live: LiveEvents, s: SessionRecord, opts: { forAgent?: string } = {}) {
  const earlier = (s.customerId ? (live.byCustomer.get(s.customerId) ?? []) : [])
    .filter((id) => id !== s.sessionId)
    .map((id) => live.sessions.get(id)!)
    .filter(Boolean)
    .reverse()
    .slice(0, 20)
    .map((e) => ({
      sessionId: e.sessionId,
      openedAt: e.openedAt,
      queueId: e.queueId,
      agents: e.agents.map((a) => live.displayNameOf(a)),
      status: e.status,
      disposition: e.disposition,
      rating: e.rating?.score ?? null,
      messages: e.items.filter((i) => i.kind === 'customer' || i.kind === 'agent').length,
    }));
  const pre = live.names.get(s.sessionId);
  return {
    sessionId: s.sessionId,
    customer: { alias: s.alias, name: pre?.name ?? null, email: pre?.email ?? null, customerId: s.customerId, channel: s.channel, client: s.client, locale: s.locale, answers: s.answers },
    queueId: s.queueId,
    openedAt: s.openedAt,
    queuedAt: s.queuedAt,
    assignedAt: s.assignedAt,
    waitSeconds: s.queuedAt && s.firstAssignedAt ? Math.round((Date.parse(s.firstAssignedAt) - Date.parse(s.queuedAt)) / 1000) : null,
    status: s.status,
    agentId: s.agentId,
    agentName: s.agentId ? live.displayNameOf(s.agentId) : null,
    mine: opts.forAgent ? s.status === 'assigned' && s.agentId === opts.forAgent && !s.takenOverBy : false,
    /** Still this agent's (for capacity, ending and the disposition) even after a supervisor took it over. */
    held: opts.forAgent ? s.status === 'assigned' && s.agentId === opts.forAgent : false,
    takenOverBy: s.takenOverBy?.displayName ?? null,
    endedAt: s.endedAt,
    disposition: s.disposition,
    rating: s.rating,
    items: s.items,
    earlier,
  };
}

/** The agent desktop's reads and its new actions: state, conversations from the events, notes, canned responses. */
@Controller('api/desk')
export class DeskApiController {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly tokens: TokenSigner,
    private readonly users: WebUsers,
    private readonly live: LiveEvents,
  ) {}

  private claims(authorization: string | undefined, roles: Role[] = ['agent']) {
    return this.tokens.verify(bearer(authorization), roles);
  }

  /** The agent's real state, from the events (what routing sees), with offers in hand. */
  @Get('me')
  async me(@Headers('authorization') auth?: string) {
    const c = this.claims(auth);
    await this.live.caughtUp();
    const now = new Date().toISOString();
    const a = this.live.agents.get(c.agentId!);
    const state = a?.state ?? { status: 'unknown' as const };
    const offers = [...this.live.sessions.values()]
      .filter((s) => s.status === 'queued' && s.offer?.agentId === c.agentId && Date.parse(s.offer!.expiresAt) > Date.now())
      .map((s) => ({
        kind: 'offer',
        offerId: s.offer!.offerId,
        sessionId: s.sessionId,
        expiresAt: s.offer!.expiresAt,
        customer: { channel: s.channel, client: s.client, locale: s.locale, answers: s.answers },
        alias: s.alias,
      }));
    return {
      agent: this.users.profileOf(c.sub) ?? null,
      state: presenceOf(state, now),
      reason: state.status === 'away' ? state.reason : null,
      conversations: state.status === 'unknown' ? 0 : state.conversations.length,
      wrapUpUntil: state.status === 'available' || state.status === 'away' ? (state.wrapUpUntil ?? null) : null,
      offers,
    };
  }

  /** The agent's conversations: those they hold, and those they had in the last 12 hours. */
  @Get('conversations')
  async conversations(@Headers('authorization') auth?: string) {
    const c = this.claims(auth);
    await this.live.caughtUp();
    const since = Date.now() - RECENT_MS;
    const list = [...this.live.sessions.values()]
      .filter((s) => s.agents.includes(c.agentId!) && ((s.status === 'assigned' && s.agentId === c.agentId) || Date.parse(s.endedAt ?? s.assignedAt ?? s.openedAt) >= since))
      .sort((a, b) => (a.assignedAt ?? a.openedAt).localeCompare(b.assignedAt ?? b.openedAt))
      .slice(-30);
    return { conversations: list.map((s) => conversationView(this.live, s, { forAgent: c.agentId })) };
  }

  @Get('conversations/:sessionId')
  async conversation(@Param('sessionId') sessionId: string, @Headers('authorization') auth?: string) {
    const c = this.claims(auth);
    if (!ID.test(sessionId)) throw invalidPayload('invalid session ID', { fields: { sessionId: ['an ID'] } });
    await this.live.caughtUp();
    const s = this.live.sessions.get(sessionId);
    if (!s) throw notFound('no such session');
    if (!s.agents.includes(c.agentId!) && s.offer?.agentId !== c.agentId) throw forbidden("not this agent's session");
    return conversationView(this.live, s, { forAgent: c.agentId });
  }

  /** An internal note: an event on the session, shown on desks and the dashboard, never to the customer. */
  @Post('sessions/:sessionId/notes')
  @HttpCode(200)
  async note(@Param('sessionId') sessionId: string, @Body() body: unknown, @Headers('authorization') auth?: string) {
    const c = this.claims(auth);
    const req = await validatePayload(Note, body);
    return natsRequest(this.nc, SUBJECTS.agentNote, { agentId: c.agentId, sessionId, noteId: req.noteId, body: req.body });
  }

  /** Where a conversation can be transferred: the queues, and colleagues available with room for one more. */
  @Get('directory')
  async directory(@Headers('authorization') auth?: string) {
    const c = this.claims(auth);
    await this.live.caughtUp();
    const now = new Date().toISOString();
    const queues = new Set(this.live.entryQueues.values());
    const colleagues = [];
    for (const a of this.live.agents.values()) {
      if (a.state.status === 'unknown') continue;
      for (const q of a.state.profile.queues ?? []) queues.add(q);
      if (a.agentId === c.agentId) continue;
      const presence = presenceOf(a.state, now);
      colleagues.push({
        agentId: a.agentId,
        displayName: a.state.profile.displayName,
        state: presence,
        conversations: a.state.conversations.length,
        capacity: a.state.profile.capacity,
        available: presence === 'available' && a.state.conversations.length < a.state.profile.capacity,
      });
    }
    return { queues: [...queues].sort(), colleagues: colleagues.sort((x, y) => Number(y.available) - Number(x.available) || x.displayName.localeCompare(y.displayName)) };
  }

  @Get('canned')
  async canned(@Headers('authorization') auth?: string) {
    const c = this.claims(auth);
    return natsRequest(this.nc, SUBJECTS.cannedList, { agentId: c.agentId });
  }

  /** A personal canned response (shared ones are the supervisors'). */
  @Post('canned')
  @HttpCode(200)
  async saveCanned(@Body() body: unknown, @Headers('authorization') auth?: string) {
    const c = this.claims(auth);
    const req = await validatePayload(Canned, body);
    if (c.agentId === SHARED_CANNED_OWNER) throw conflict('this agent ID cannot own personal responses');
    return natsRequest(this.nc, SUBJECTS.cannedSave, { owner: c.agentId, cannedId: req.cannedId ?? randomUUID(), shortcut: req.shortcut, title: req.title, body: req.body, by: `agent:${c.agentId}` });
  }
}

export { Canned };

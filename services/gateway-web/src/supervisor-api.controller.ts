import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS } from '@parley/contracts';
import { SHARED_CANNED_OWNER } from '@parley/domain';
import { forbidden, invalidPayload, notFound } from '@parley/errors';
import { NATS_CONNECTION, natsRequest, validatePayload } from '@parley/service-kit';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { DashboardService } from './dashboard.service.js';
import { Canned, conversationView } from './desk-api.controller.js';
import { LiveEvents } from './live-events.service.js';
import { TokenSigner } from './tokens.js';
import { WebUsers } from './web-users.js';

class Whisper {
  @IsString() @MinLength(1) @MaxLength(128) whisperId!: string;
  @IsString() @MinLength(1) @MaxLength(4_000) body!: string;
}
class Say {
  @IsString() @MinLength(1) @MaxLength(128) messageId!: string;
  @IsString() @MinLength(1) @MaxLength(16_000) body!: string;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/;
const bearer = (authorization?: string) => authorization?.replace(/^Bearer\s+/i, '');

/** The supervisor dashboard's reads and actions beyond the overview: live conversations, whisper, take-over, KPIs, search. */
@Controller('api/supervisor')
export class SupervisorApiController {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly tokens: TokenSigner,
    private readonly users: WebUsers,
    private readonly live: LiveEvents,
    private readonly dashboard: DashboardService,
  ) {}

  private supervisor(authorization: string | undefined, permission?: 'whisper' | 'take-over') {
    const c = this.tokens.verify(bearer(authorization), ['supervisor']);
    const user = this.users.get(c.sub);
    if (permission && !user?.permissions?.includes(permission)) throw forbidden(`this supervisor may not ${permission === 'whisper' ? 'whisper' : 'take conversations over'}`, { permission });
    return { username: c.sub, displayName: user?.displayName ?? c.sub, permissions: user?.permissions ?? [] };
  }

  private session(sessionId: string) {
    if (!ID.test(sessionId)) throw invalidPayload('invalid session ID', { fields: { sessionId: ['an ID'] } });
    const s = this.live.sessions.get(sessionId);
    if (!s) throw notFound('no such session');
    return s;
  }

  /** The whole dashboard at once (the same payload the WebSocket pushes as things happen). */
  @Get('dashboard')
  async overviewAll(@Headers('authorization') auth?: string) {
    const me = this.supervisor(auth);
    await this.live.caughtUp();
    return { ...(await this.dashboard.overview()), me };
  }

  /** A conversation, read-only, with the internal notes and whispers. */
  @Get('conversations/:sessionId')
  async conversation(@Param('sessionId') sessionId: string, @Headers('authorization') auth?: string) {
    this.supervisor(auth);
    await this.live.caughtUp();
    return conversationView(this.live, this.session(sessionId));
  }

  @Post('sessions/:sessionId/whisper')
  @HttpCode(200)
  async whisper(@Param('sessionId') sessionId: string, @Body() body: unknown, @Headers('authorization') auth?: string) {
    const me = this.supervisor(auth, 'whisper');
    const req = await validatePayload(Whisper, body);
    if (!ID.test(sessionId)) throw invalidPayload('invalid session ID', { fields: { sessionId: ['an ID'] } });
    return natsRequest(this.nc, SUBJECTS.supervisorWhisper, { supervisor: me.username, sessionId, whisperId: req.whisperId, body: req.body });
  }

  @Post('sessions/:sessionId/takeover')
  @HttpCode(200)
  async takeOver(@Param('sessionId') sessionId: string, @Headers('authorization') auth?: string) {
    const me = this.supervisor(auth, 'take-over');
    if (!ID.test(sessionId)) throw invalidPayload('invalid session ID', { fields: { sessionId: ['an ID'] } });
    return natsRequest(this.nc, SUBJECTS.supervisorTakeOver, { supervisor: me.username, displayName: me.displayName, sessionId });
  }

  /** After a take-over, the supervisor writes to the customer. */
  @Post('sessions/:sessionId/messages')
  @HttpCode(200)
  async say(@Param('sessionId') sessionId: string, @Body() body: unknown, @Headers('authorization') auth?: string) {
    const me = this.supervisor(auth, 'take-over');
    const req = await validatePayload(Say, body);
    await this.live.caughtUp();
    const s = this.session(sessionId);
    if (s.takenOverBy?.supervisor !== me.username) throw forbidden('take the conversation over first');
    return natsRequest(this.nc, SUBJECTS.supervisorMessage, { supervisor: me.username, displayName: me.displayName, sessionId, messageId: req.messageId, body: req.body });
  }

  /** KPIs per queue and interval: offered, answered, abandoned, ASA, AHT, service level, in buckets. */
  @Get('kpis')
  async kpis(@Query() q: Record<string, string | undefined>, @Headers('authorization') auth?: string) {
    this.supervisor(auth);
    const to = q.to ?? new Date().toISOString();
    const from = q.from ?? new Date(Date.parse(to) - 3600_000).toISOString();
    const bucket = Number(q.bucketMinutes ?? 5);
    const threshold = Number(q.thresholdSeconds ?? 20);
    const fields: Record<string, string[]> = {};
    if (!ISO.test(from)) fields.from = ['an ISO 8601 instant'];
    if (!ISO.test(to)) fields.to = ['an ISO 8601 instant'];
    if (q.queue && !ID.test(q.queue)) fields.queue = ['a queue ID'];
    if (!Number.isInteger(bucket) || bucket < 1 || bucket > 1440) fields.bucketMinutes = ['1..1440'];
    if (!Number.isInteger(threshold) || threshold < 1) fields.thresholdSeconds = ['a positive integer'];
    if (!fields.from && !fields.to && (Date.parse(to) <= Date.parse(from) || (Date.parse(to) - Date.parse(from)) / (bucket * 60_000) > 500)) fields.to = ['after from, at most 500 buckets'];
    if (Object.keys(fields).length) throw invalidPayload(`invalid fields: ${Object.keys(fields).join(', ')}`, { fields });
    await this.live.caughtUp();
    return { queue: q.queue ?? null, from, to, bucketMinutes: bucket, thresholdSeconds: threshold, ...this.dashboard.kpis(q.queue ?? null, from, to, bucket, threshold) };
  }

  /** Sessions by customer (alias, name or customer ID), agent, queue and time. */
  @Get('search')
  async search(@Query() q: Record<string, string | undefined>, @Headers('authorization') auth?: string) {
    this.supervisor(auth);
    const fields: Record<string, string[]> = {};
    for (const k of ['from', 'to'] as const) if (q[k] && !ISO.test(q[k]!)) fields[k] = ['an ISO 8601 instant'];
    if (q.queue && !ID.test(q.queue)) fields.queue = ['a queue ID'];
    for (const k of ['customer', 'agent'] as const) if (q[k] && q[k]!.length > 200) fields[k] = ['at most 200 characters'];
    if (Object.keys(fields).length) throw invalidPayload(`invalid fields: ${Object.keys(fields).join(', ')}`, { fields });
    await this.live.caughtUp();
    return { sessions: this.dashboard.search({ customer: q.customer || undefined, agent: q.agent || undefined, queue: q.queue || undefined, from: q.from || undefined, to: q.to || undefined }) };
  }

  /** A shared canned response, for every agent. */
  @Post('canned')
  @HttpCode(200)
  async saveCanned(@Body() body: unknown, @Headers('authorization') auth?: string) {
    const me = this.supervisor(auth);
    const req = await validatePayload(Canned, body);
    return natsRequest(this.nc, SUBJECTS.cannedSave, {
      owner: SHARED_CANNED_OWNER,
      cannedId: req.cannedId ?? randomUUID(),
      shortcut: req.shortcut,
      title: req.title,
      body: req.body,
      by: `supervisor:${me.username}`,
    });
  }
}

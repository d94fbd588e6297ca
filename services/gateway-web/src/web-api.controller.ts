import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS, type SubscribeReply, agentLoginPayload, asActorSubject } from '@parley/contracts';
import { forbidden, invalidPayload } from '@parley/errors';
import { NATS_CONNECTION, SERVICE_CONFIG, natsRequest, validatePayload } from '@parley/service-kit';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { randomBytes } from 'node:crypto';
import { WEB_CHANNEL } from './delivery-feed.service.js';
import { type GatewayWebConfig, type PreChatForm, preChatForms } from './gateway-web.config.js';
import { LiveEvents } from './live-events.service.js';
import { TokenRevocations } from './token-revocations.service.js';
import { type Role, TokenSigner } from './tokens.js';
import { WebUsers } from './web-users.js';

class StartChat {
  @Matches(/^[^\s@]{1,256}@[^\s@]{1,256}$/, { message: 'address must be an IM address' }) address!: string;
  @IsOptional() @IsString() @MaxLength(35) locale?: string;
  /** The browser's own lasting random ID: earlier sessions of the same visitor are found by it. */
  @IsOptional() @Matches(/^[A-Za-z0-9_-]{8,64}$/, { message: 'visitorId must be 8-64 letters, digits, "-" or "_"' }) visitorId?: string;
  /** The pre-chat form, when the entry point has one. */
  @IsOptional() @IsString() @MinLength(1) @MaxLength(100) name?: string;
  @IsOptional() @Matches(/^[^\s@]{1,64}@[^\s@]{1,190}\.[^\s@]{2,}$/, { message: 'email must be an e-mail address' }) email?: string;
}
class Rate {
  @IsString() @MinLength(1) @MaxLength(128) ratingId!: string;
  @IsInt() @Min(1) @Max(5) score!: number;
  @IsOptional() @IsString() @MaxLength(2_000) comment?: string;
}
class Say {
  @IsString() @MinLength(1) @MaxLength(128) messageId!: string;
  @IsString() @MinLength(1) @MaxLength(16_000) body!: string;
}
class SignIn {
  @IsString() @MinLength(1) @MaxLength(64) username!: string;
  @IsString() @MinLength(1) @MaxLength(200) password!: string;
}
class SetState {
  @IsIn(['available', 'away', 'offline']) state!: 'available' | 'away' | 'offline';
  @IsOptional() @IsString() @MaxLength(100) reason?: string;
}
class End {
  @IsOptional() @IsString() @MaxLength(100) disposition?: string;
}
class Transfer {
  @IsOptional() @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'toQueueId must be a queue ID' }) toQueueId?: string;
  @IsOptional() @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'toAgentId must be an agent ID' }) toAgentId?: string;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const bearer = (authorization?: string) => authorization?.replace(/^Bearer\s+/i, '');
const CUSTOMER_TOKEN_SECONDS = 24 * 3600;
const STAFF_TOKEN_SECONDS = 12 * 3600;

/** The HTTP side of the web channel: the widget's, the agent desktop's and the supervisor dashboard's calls. */
@Controller('api')
export class WebApiController {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayWebConfig,
    private readonly tokens: TokenSigner,
    private readonly users: WebUsers,
    private readonly live: LiveEvents,
    private readonly revocations: TokenRevocations,
  ) {
    this.forms = preChatForms(config.WEB_PRE_CHAT_FORMS);
  }

  private readonly forms: Map<string, PreChatForm>;

  private checkOrigin(origin: string | undefined, host: string | undefined): void {
    if (!origin || origin === `http://${host}` || origin === `https://${host}`) return;
    const allowed = (this.config.WEB_ALLOWED_ORIGINS ?? '').split(',').filter(Boolean);
    if (!allowed.includes(origin)) throw forbidden('this web site may not embed the chat', { origin });
  }

  private claims(authorization: string | undefined, roles: Role[]) {
    return this.tokens.verify(bearer(authorization), roles);
  }

  @Get('widget/availability')
  async availability(@Query('address') address: string, @Headers('origin') origin?: string, @Headers('host') host?: string) {
    this.checkOrigin(origin, host);
    if (!address || !/^[^\s@]+@[^\s@]+$/.test(address)) throw invalidPayload('invalid fields: address', { fields: { address: ['address must be an IM address'] } });
    const lookup = await natsRequest<{ registered: boolean; open: boolean; opensAt?: string | null; leaveMessage?: boolean; closedMessage?: Record<string, string>; queueId?: string }>(
      this.nc,
      SUBJECTS.registrationLookup,
      { address },
    );
    const status = !lookup.registered ? 'unavailable' : lookup.open ? 'open' : lookup.leaveMessage ? 'closed-leave-message' : 'closed';
    return { status, opensAt: lookup.opensAt ?? null, message: lookup.closedMessage?.en ?? null, preChat: this.forms.get(address) ?? null };
  }

  @Post('widget/sessions')
  @HttpCode(200)
  async startChat(@Body() body: unknown, @Headers('origin') origin?: string, @Headers('host') host?: string, @Headers('user-agent') userAgent?: string) {
    this.checkOrigin(origin, host);
    const req = await validatePayload(StartChat, body);
    const form = this.forms.get(req.address);
    const missing = (form?.fields ?? []).filter((f) => f.required && !req[f.name]).map((f) => f.name);
    if (missing.length) throw invalidPayload(`invalid fields: ${missing.join(', ')}`, { fields: Object.fromEntries(missing.map((f) => [f, [`${f} is required`]])) });
    const customerId = req.email ? `email:${req.email.toLowerCase()}` : req.visitorId ? `web:${req.visitorId}` : undefined;
    // The visitor's own address on the web channel: random, and known only to their browser through the token.
    const customer = `v-${randomBytes(10).toString('hex')}@${this.config.WEB_VISITOR_DOMAIN}`;
    const browser = /(Firefox|Edg|Chrome|Safari)\/([\d.]+)/.exec(userAgent ?? '');
    const reply = await natsRequest<SubscribeReply>(this.nc, asActorSubject(SUBJECTS.imSubscribe, WEB_CHANNEL), {
      channel: WEB_CHANNEL,
      from: customer,
      to: req.address,
      client: { name: browser ? `Parley web widget (${browser[1]})` : 'Parley web widget', version: browser?.[2]?.slice(0, 20) ?? '1', capabilities: ['text', 'typing'] },
      ...(req.locale ? { locale: req.locale } : {}),
      ...(customerId ? { customerId } : {}),
    });
    if (reply.status !== 'available') return { status: 'unavailable', reason: reply.reason, message: reply.message ?? null };
    if (reply.sessionId && (req.name || req.email)) await this.live.remember(reply.sessionId, { ...(req.name ? { name: req.name } : {}), ...(req.email ? { email: req.email } : {}) });
    const token = this.tokens.sign({ role: 'customer', sub: customer, sid: reply.sessionId, sa: reply.sessionAddress }, CUSTOMER_TOKEN_SECONDS);
    return { status: 'available', sessionId: reply.sessionId, token, message: reply.message ?? null, opensAt: reply.opensAt ?? null };
  }

  @Post('widget/messages')
  @HttpCode(200)
  async customerSays(@Body() body: unknown, @Headers('authorization') auth?: string) {
    const c = this.claims(auth, ['customer']);
    const req = await validatePayload(Say, body);
    return natsRequest(this.nc, asActorSubject(SUBJECTS.imMessage, WEB_CHANNEL), { messageId: req.messageId, channel: WEB_CHANNEL, from: c.sub, to: c.sa, body: req.body });
  }

  /** The customer rates the conversation (1-5 and a comment): a SessionRated event on the session's stream. */
  @Post('widget/rating')
  @HttpCode(200)
  async rate(@Body() body: unknown, @Headers('authorization') auth?: string) {
    const c = this.claims(auth, ['customer']);
    const req = await validatePayload(Rate, body);
    return natsRequest(this.nc, SUBJECTS.sessionRate, { channel: WEB_CHANNEL, from: c.sub, to: c.sa, ratingId: req.ratingId, score: req.score, ...(req.comment ? { comment: req.comment } : {}) });
  }

  @Post('widget/leave')
  @HttpCode(200)
  async leave(@Headers('authorization') auth?: string) {
    const c = this.claims(auth, ['customer']);
    return natsRequest(this.nc, asActorSubject(SUBJECTS.imUnsubscribe, WEB_CHANNEL), { channel: WEB_CHANNEL, from: c.sub, to: c.sa });
  }

  @Post('auth/login')
  @HttpCode(200)
  async login(@Body() body: unknown) {
    const req = await validatePayload(SignIn, body);
    const user = this.users.verify(req.username, req.password);
    if (!user) throw forbidden('wrong user name or password', { reason: 'unauthorized' });
    const token = this.tokens.sign({ role: user.role, sub: user.username, ...(user.agent ? { agentId: user.agent.agentId } : {}) }, STAFF_TOKEN_SECONDS);
    return { token, role: user.role, username: user.username, agent: user.agent ?? null };
  }

  /** Sign-out: the token is refused from now on, on every instance, for whatever life it had left. */
  @Post('auth/logout')
  @HttpCode(200)
  async logout(@Headers('authorization') auth?: string) {
    const c = this.claims(auth, ['customer', 'agent', 'supervisor']);
    await this.revocations.revoke(c.jti);
    return { signedOut: true };
  }

  @Post('desk/state')
  @HttpCode(200)
  async setState(@Body() body: unknown, @Headers('authorization') auth?: string) {
    const c = this.claims(auth, ['agent']);
    const req = await validatePayload(SetState, body);
    const user = this.users.profileOf(c.sub);
    if (req.state !== 'offline' && user) {
      await natsRequest(this.nc, asActorSubject(SUBJECTS.agentLogin, user.agentId), agentLoginPayload(user, 60));
    }
    return natsRequest(this.nc, asActorSubject(SUBJECTS.agentState, c.agentId!), { agentId: c.agentId, state: req.state, ...(req.reason ? { reason: req.reason } : {}) });
  }

  @Post('desk/offers/:offerId/:answer')
  @HttpCode(200)
  async answerOffer(@Param('offerId') offerId: string, @Param('answer') answer: string, @Headers('authorization') auth?: string) {
    const c = this.claims(auth, ['agent']);
    if (!ID.test(offerId) || (answer !== 'accept' && answer !== 'reject')) throw invalidPayload('invalid offer or answer', { fields: { offerId: [], answer: ['accept or reject'] } });
    return natsRequest(this.nc, asActorSubject(answer === 'accept' ? SUBJECTS.agentOfferAccept : SUBJECTS.agentOfferReject, c.agentId!), { agentId: c.agentId, offerId });
  }

  @Post('desk/sessions/:sessionId/messages')
  @HttpCode(200)
  async agentSays(@Param('sessionId') sessionId: string, @Body() body: unknown, @Headers('authorization') auth?: string) {
    const c = this.claims(auth, ['agent']);
    const req = await validatePayload(Say, body);
    // A conversation a supervisor took over is refused by the session itself (on every channel), not by this view.
    return natsRequest(this.nc, asActorSubject(SUBJECTS.agentMessage, c.agentId!), { agentId: c.agentId, sessionId, messageId: req.messageId, body: req.body });
  }

  @Post('desk/sessions/:sessionId/end')
  @HttpCode(200)
  async end(@Param('sessionId') sessionId: string, @Body() body: unknown, @Headers('authorization') auth?: string) {
    const c = this.claims(auth, ['agent']);
    const req = await validatePayload(End, body ?? {});
    return natsRequest(this.nc, asActorSubject(SUBJECTS.agentSessionEnd, c.agentId!), { agentId: c.agentId, sessionId, ...(req.disposition ? { disposition: req.disposition } : {}) });
  }

  @Post('desk/sessions/:sessionId/transfer')
  @HttpCode(200)
  async transfer(@Param('sessionId') sessionId: string, @Body() body: unknown, @Headers('authorization') auth?: string) {
    const c = this.claims(auth, ['agent']);
    const req = await validatePayload(Transfer, body);
    return natsRequest(this.nc, asActorSubject(SUBJECTS.agentTransfer, c.agentId!), { agentId: c.agentId, sessionId, ...req });
  }

  @Get('supervisor/overview')
  async overview(@Headers('authorization') auth?: string) {
    this.claims(auth, ['supervisor']);
    return natsRequest(this.nc, SUBJECTS.statsQueues, {});
  }

  @Get('supervisor/sessions/:sessionId')
  async explain(@Param('sessionId') sessionId: string, @Headers('authorization') auth?: string) {
    this.claims(auth, ['supervisor']);
    return natsRequest(this.nc, SUBJECTS.supervisorSessionExplain, { sessionId });
  }
}

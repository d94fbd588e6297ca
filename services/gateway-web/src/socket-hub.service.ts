import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { SUBJECTS, agentDeliverSubject, asActorSubject, imDeliverSubject } from '@parley/contracts';
import { NATS_CONNECTION, natsRequest } from '@parley/service-kit';
import type { IncomingMessage, Server } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { DashboardService } from './dashboard.service.js';
import { DeliveryFeed, type Sequenced, WEB_CHANNEL } from './delivery-feed.service.js';
import { type LiveChange, LiveEvents } from './live-events.service.js';
import { TokenRevocations } from './token-revocations.service.js';
import { type TokenClaims, TokenSigner } from './tokens.js';

export const TYPING_SUBJECT = 'parley.v1.typing';
/**
 * Asked by an instance of gateway-web before it sets an agent whose last desk closed there offline: answered by
 * the instances where that agent still has a desk open (a reload that reconnected to another instance, or a second
 * tab), so one instance's closed socket does not take offline an agent working through another.
 */
export const DESK_OPEN_SUBJECT = 'parley.v1.desk.open';
const DESK_OPEN_ASK_MS = 1_000;

interface Typing {
  sessionId: string;
  by: 'customer' | 'agent';
  /** Added in v1: an XEP-0085 chat state from the XMPP channel; absent means composing. */
  state?: string;
}

/**
 * One WebSocket per open page. A customer's page gets the deliveries to their address, an agent's desktop the
 * deliveries to their agent ID; both resume after `since` (the last stream sequence they saw) so a reload or a
 * reconnect misses nothing. While a desktop is connected, the gateway renews the agent's lease.
 */
@Injectable()
export class SocketHub implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('SocketHub');
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly agentSockets = new Map<string, Set<WebSocket>>();
  private readonly customerSockets = new Map<string, Set<WebSocket>>();
  private readonly supervisorSockets = new Set<WebSocket>();
  private readonly offlineTimers = new Map<string, NodeJS.Timeout>();
  private heartbeat?: NodeJS.Timeout;
  private typing?: Subscription;
  private deskOpen?: Subscription;
  private unlistenLive?: () => void;
  private dashboardTimer?: NodeJS.Timeout;
  private dashboardTick?: NodeJS.Timeout;
  private stopRevocations?: () => void;
  /** Open sockets by the ID of the token they were opened with: sign-out closes them. */
  private readonly byToken = new Map<string, Set<WebSocket>>();

  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly feed: DeliveryFeed,
    private readonly tokens: TokenSigner,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly live: LiveEvents,
    private readonly dashboard: DashboardService,
    private readonly revocations: TokenRevocations,
  ) {}

  /** A desk closed for good (no socket back within the grace) ends the agent's availability at once. */
  static readonly DESK_GONE_GRACE_MS = 4000;

  private sendTo(sockets: Iterable<WebSocket> | undefined, message: unknown): void {
    const text = JSON.stringify(message);
    for (const ws of sockets ?? []) if (ws.readyState === WebSocket.OPEN) ws.send(text);
  }

  private customerSocketsOf(sessionId: string): WebSocket[] {
    return [...this.customerSockets.values()].flatMap((set) => [...set]).filter((ws) => (ws as WebSocket & { parleySession?: string }).parleySession === sessionId);
  }

  /** Events pushed to the pages they concern, as they happen: desks refetch a conversation, the dashboard its figures. */
  private onChange(change: LiveChange): void {
    if (this.supervisorSockets.size) this.scheduleDashboard();
    if (change.aggregate === 'agent') {
      this.sendTo(this.agentSockets.get(change.id), { type: 'agent-changed', event: change.type });
      return;
    }
    const s = change.session;
    if (change.aggregate !== 'session' || !s) return;
    const agents = new Set([...s.agents, ...(s.offer ? [s.offer.agentId] : [])]);
    for (const agentId of agents) this.sendTo(this.agentSockets.get(agentId), { type: 'conversation-changed', sessionId: s.sessionId, event: change.type });
    this.sendTo(this.supervisorSockets, { type: 'conversation-changed', sessionId: s.sessionId, event: change.type });
    const customers = this.customerSocketsOf(s.sessionId);
    if (!customers.length) return;
    const last = s.items.at(-1);
    if (change.type === 'SessionAssigned' || change.type === 'SessionTakenOver')
      this.sendTo(customers, { type: 'joined', sessionId: s.sessionId, id: last?.id, agentName: last?.name ?? 'An agent', takeover: change.type === 'SessionTakenOver' });
    if (change.type === 'SupervisorMessageSent' && last) this.sendTo(customers, { type: 'message', sessionId: s.sessionId, id: last.id, name: last.name, body: last.body, at: last.at });
  }

  private scheduleDashboard(): void {
    if (this.dashboardTimer) return;
    this.dashboardTimer = setTimeout(() => {
      this.dashboardTimer = undefined;
      void this.pushDashboard();
    }, 250);
  }

  private async pushDashboard(): Promise<void> {
    if (!this.supervisorSockets.size) return;
    try {
      this.sendTo(this.supervisorSockets, { type: 'dashboard', ...(await this.dashboard.overview()) });
    } catch (err) {
      this.logger.warn({ msg: 'dashboard push failed', err: String(err) });
    }
  }

  onApplicationBootstrap(): void {
    this.stopRevocations = this.revocations.onRevoke((jti) => {
      for (const ws of this.byToken.get(jti) ?? []) ws.close(4401, 'signed out');
    });
    const server = this.adapter.httpAdapter.getHttpServer() as Server;
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/ws') return socket.destroy();
      let claims: TokenClaims;
      try {
        claims = this.tokens.verify(url.searchParams.get('token') ?? undefined, ['customer', 'agent', 'supervisor']);
      } catch {
        socket.write('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return socket.destroy();
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => void this.attach(ws, claims, url, req));
    });
    this.unlistenLive = this.live.listen((change) => this.onChange(change));
    // Times in state, waits and the reporting figures move without events: a slow tick keeps them current.
    this.dashboardTick = setInterval(() => void this.pushDashboard(), 5000);
    this.heartbeat = setInterval(() => {
      for (const agentId of this.agentSockets.keys()) natsRequest(this.nc, asActorSubject(SUBJECTS.agentHeartbeat, agentId), { agentId }).catch(() => undefined);
    }, 15_000);
    this.deskOpen = this.nc.subscribe(`${DESK_OPEN_SUBJECT}.*`, {
      callback: (err, msg) => {
        if (!err && this.agentSockets.has(msg.subject.slice(DESK_OPEN_SUBJECT.length + 1))) msg.respond(JSON.stringify({ open: true }));
      },
    });
    this.typing = this.nc.subscribe(`${TYPING_SUBJECT}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const t = msg.json<Typing>();
        if (t.state && t.state !== 'composing') return; // the web pages show typing only
        const targets = t.by === 'agent' ? [...this.customerSockets.values()].flatMap((s) => [...s]) : [...this.agentSockets.values()].flatMap((s) => [...s]);
        for (const ws of targets) {
          if ((ws as WebSocket & { parleySession?: string }).parleySession && (ws as WebSocket & { parleySession?: string }).parleySession !== t.sessionId) continue;
          ws.send(JSON.stringify({ type: 'typing', sessionId: t.sessionId, by: t.by }));
        }
      },
    });
  }

  private async attach(ws: WebSocket, claims: TokenClaims, url: URL, _req: IncomingMessage): Promise<void> {
    if (claims.role === 'supervisor') {
      this.supervisorSockets.add(ws);
      ws.on('close', () => this.supervisorSockets.delete(ws));
      await this.pushDashboard();
      return;
    }
    const since = url.searchParams.get('since');
    const afterSeq = since && /^\d+$/.test(since) ? Number(since) : undefined;
    const isAgent = claims.role === 'agent';
    const key = isAgent ? `agent:${claims.agentId}` : `customer:${claims.sub}`;
    const registry = isAgent ? this.agentSockets : this.customerSockets;
    const owner = isAgent ? claims.agentId! : claims.sub;
    if (!isAgent) (ws as WebSocket & { parleySession?: string }).parleySession = claims.sid;
    // Listen first and hold live items back until the replay is out, so nothing slips between the two.
    const held: Sequenced<Record<string, unknown>>[] = [];
    let replaying = true;
    let lastSent = afterSeq ?? 0;
    const send = (item: Sequenced<Record<string, unknown>>) => {
      if (item.seq <= lastSent || ws.readyState !== WebSocket.OPEN) return;
      lastSent = item.seq;
      ws.send(JSON.stringify({ type: 'delivery', ...item }));
    };
    const unlisten = this.feed.listen(key, (item) => (replaying ? held.push(item) : send(item)));
    (registry.get(owner) ?? registry.set(owner, new Set()).get(owner)!).add(ws);
    if (isAgent) {
      clearTimeout(this.offlineTimers.get(owner));
      this.offlineTimers.delete(owner);
    }
    // A socket lives no longer than its token: closed at expiry, or at once when the token is signed out.
    (this.byToken.get(claims.jti) ?? this.byToken.set(claims.jti, new Set()).get(claims.jti)!).add(ws);
    const expiry = setTimeout(() => ws.close(4401, 'token expired'), Math.max(0, claims.exp * 1000 - Date.now()));
    expiry.unref();
    ws.on('close', () => {
      clearTimeout(expiry);
      this.byToken.get(claims.jti)?.delete(ws);
      if (this.byToken.get(claims.jti)?.size === 0) this.byToken.delete(claims.jti);
      unlisten();
      registry.get(owner)?.delete(ws);
      if (registry.get(owner)?.size === 0) {
        registry.delete(owner);
        if (isAgent) this.deskGone(owner);
      }
    });
    ws.on('message', (raw) => {
      try {
        const m = JSON.parse(raw.toString()) as { type?: string; sessionId?: string };
        if (m.type !== 'typing') return;
        const sessionId = isAgent ? m.sessionId : claims.sid;
        if (sessionId && /^[A-Za-z0-9_-]{1,64}$/.test(sessionId)) this.nc.publish(`${TYPING_SUBJECT}.${sessionId}`, JSON.stringify({ sessionId, by: isAgent ? 'agent' : 'customer' }));
      } catch {
        // not JSON: ignored
      }
    });
    try {
      const replayed = isAgent
        ? await this.feed.replay(agentDeliverSubject(claims.agentId!), { afterSeq, since: new Date(claims.iat * 1000).toISOString() }, () => true)
        : await this.feed.replay<{ to: string }>(imDeliverSubject(WEB_CHANNEL), { afterSeq, since: new Date(claims.iat * 1000 - 1000).toISOString() }, (d) => d.to === claims.sub);
      for (const item of replayed) send(item as Sequenced<Record<string, unknown>>);
    } catch (err) {
      this.logger.warn({ msg: 'replay failed; the page will reconnect', err: String(err) });
      ws.close(1011, 'replay failed');
    } finally {
      replaying = false;
      for (const item of held) send(item);
      held.length = 0;
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ready', seq: lastSent }));
      if (!isAgent && claims.sid) {
        // Where the session stands now, so a page that was away still shows who joined it.
        const s = this.live.sessions.get(claims.sid);
        const joined = s ? [...s.items].reverse().find((i) => i.kind === 'system' && i.name && (i.body.endsWith('joined the chat') || i.body.endsWith('took over the conversation'))) : undefined;
        if (s && ws.readyState === WebSocket.OPEN) {
          ws.send(
            JSON.stringify({
              type: 'session',
              sessionId: s.sessionId,
              status: s.status,
              agentName: joined?.name ?? null,
              joinedId: joined?.id ?? null,
              takeover: !!joined?.body.endsWith('took over the conversation'),
              supervisorMessages: s.items.filter((i) => i.kind === 'supervisor'),
            }),
          );
        }
      }
    }
  }

  /** The last desk of an agent closed: unless one comes back within the grace (a reload), the agent goes offline. */
  private deskGone(agentId: string): void {
    clearTimeout(this.offlineTimers.get(agentId));
    this.offlineTimers.set(
      agentId,
      setTimeout(async () => {
        this.offlineTimers.delete(agentId);
        if (this.agentSockets.has(agentId)) return;
        const a = this.live.agents.get(agentId)?.state;
        if (!a || a.status === 'unknown' || a.status === 'offline') return;
        // Only instances holding a desk of the agent answer; none within the wait: no desk is open anywhere.
        const elsewhere = await this.nc.request(`${DESK_OPEN_SUBJECT}.${agentId}`, '', { timeout: DESK_OPEN_ASK_MS }).then(
          () => true,
          () => false,
        );
        if (elsewhere) {
          this.logger.log({ msg: 'desk closed here but open on another instance: agent kept', agentId });
          return;
        }
        if (this.agentSockets.has(agentId)) return;
        natsRequest(this.nc, asActorSubject(SUBJECTS.agentState, agentId), { agentId, state: 'offline' }).then(
          () => this.logger.log({ msg: 'desk closed: agent set offline', agentId }),
          (err: unknown) => this.logger.warn({ msg: 'could not set a closed desk offline', agentId, err: String(err) }),
        );
      }, SocketHub.DESK_GONE_GRACE_MS),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.dashboardTick);
    clearTimeout(this.dashboardTimer);
    for (const t of this.offlineTimers.values()) clearTimeout(t);
    this.unlistenLive?.();
    this.stopRevocations?.();
    this.typing?.unsubscribe();
    this.deskOpen?.unsubscribe();
    for (const ws of this.wss.clients) ws.close(1001, 'server restarting');
  }
}

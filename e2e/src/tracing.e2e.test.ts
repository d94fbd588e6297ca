import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUBJECTS } from '@parley/contracts';
import type { ServiceHandle } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ParleyStack, until } from './parley-stack.js';

/** A span as the services export it over OTLP/HTTP JSON, with the service that sent it. */
interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number; arrayValue?: { values?: OtlpValue[] } };
type OtlpAttribute = { key: string; value: OtlpValue };
const valueOf = (v: OtlpValue): unknown => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue ?? v.arrayValue?.values?.map(valueOf);
const attributesOf = (list: OtlpAttribute[] = []) => Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

/**
 * A collector in the test process: the services are separate processes, so each exports over OTLP/HTTP (JSON) to
 * this receiver, which keeps every span it is sent along with its `service.name`.
 */
class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly bodies: string[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpReceiver> {
    const receiver: OtlpReceiver = new OtlpReceiver(
      createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          if (req.method === 'POST' && req.url === '/v1/traces') receiver.take(Buffer.concat(chunks).toString('utf8'));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      }),
    );
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private take(body: string): void {
    this.bodies.push(body);
    const request = JSON.parse(body) as {
      resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: (Omit<ReceivedSpan, 'service' | 'attributes'> & { attributes?: OtlpAttribute[] })[] }[] }[];
    };
    for (const rs of request.resourceSpans ?? []) {
      const service = String(attributesOf(rs.resource?.attributes)['service.name']);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) this.spans.push({ service, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, attributes: attributesOf(s.attributes) });
      }
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const center = {
  flows: [
    {
      id: 'tr-one-question',
      greeting: { en: 'Hello.' },
      retry: { en: 'Once more please.' },
      done: { en: 'Thanks, an agent will be with you.' },
      maxAttempts: 2,
      fallback: { queue: 'tr-general' },
      start: 'topic',
      questions: [{ id: 'topic', kind: 'menu', attribute: 'topic', prompt: { en: 'What is it about?' }, options: [{ key: '1', label: { en: 'Billing' }, route: { queue: 'tr-billing' } }] }],
    },
  ],
  entryPoints: [{ id: 'tr-flow', flow: 'tr-one-question' }],
};

let receiver: OtlpReceiver;
let stack: ParleyStack;
let web: ServiceHandle;

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  const centerFile = join(mkdtempSync(join(tmpdir(), 'parley-tracing-')), 'center.yaml');
  writeFileSync(centerFile, stringify(center));
  // Every service, the web gateway included (launchExtra passes the same variables), exports to the receiver;
  // batches leave every 100 ms instead of 5 s, so the test waits on spans, not on timers.
  stack = await ParleyStack.start({
    PARLEY_CENTER_FILE: centerFile,
    ROUTING_TICK_MS: '100',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'tr-flow', address: 'tr-flow@support.example.test', queueId: 'tr-intake', leaseSeconds: 600 });
  web = await stack.launchExtra('gateway-web', { WEB_JWT_SECRET: randomBytes(32).toString('hex') });
});

afterAll(async () => {
  await stack?.stop();
  await receiver?.stop();
});

const post = async (path: string, body: unknown, token?: string) => {
  const res = await fetch(`http://127.0.0.1:${web.httpPort}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  expect(res.status, path).toBe(200);
  return (await res.json()) as Record<string, string>;
};

describe('one customer message, one trace', () => {
  it('spans the web gateway, buffer, presence-proxy and router, and ends at the delivery the gateway pushes', async () => {
    const agent = await stack.agentInbox('tr-agent');
    await stack.request(SUBJECTS.agentLogin, {
      agentId: 'tr-agent',
      displayName: 'Tracy',
      kind: 'human',
      skills: {},
      languages: ['en'],
      capacity: 1,
      capabilities: [],
      queues: ['tr-billing'],
      leaseSeconds: 600,
    });
    const chat = await post('/api/widget/sessions', { address: 'tr-flow@support.example.test' });
    expect(chat.status).toBe('available');
    // The customer's answer to the intake question: buffer stores it, presence-proxy's intake queues the session on
    // it, the router offers it to the agent, and the offer reaches the agent's desk through the web gateway.
    await post('/api/widget/messages', { messageId: randomUUID(), body: '1' }, chat.token);
    await agent.waitFor((d) => d.kind === 'offer' && d.sessionId === chat.sessionId, 'the offer to the agent');

    const root = await until(() => receiver.spans.find((s) => s.name === 'POST /api/widget/messages'), 'the gateway span of the customer message');
    const traceOf = () => receiver.spans.filter((s) => s.traceId === root.traceId);
    const pushedOffer = (s: ReceivedSpan) => s.service === 'parley-gateway-web' && s.name === 'push delivery' && s.attributes['parley.delivery.kind'] === 'offer';
    // Each service exports its own batches: wait until every part of the trace has arrived (the pushed offer's
    // ancestry reaches the gateway's root, and buffer's consumer and presence-proxy's append are in), not just the
    // first service's.
    const ancestryIn = (spans: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] => {
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const chain = [span];
      for (let p = byId.get(span.parentSpanId); p; p = byId.get(p.parentSpanId)) chain.unshift(p);
      return chain;
    };
    const spans = await until(() => {
      const all = traceOf();
      const pushed = all.find(pushedOffer);
      const whole =
        pushed !== undefined &&
        ancestryIn(all, pushed)[0] === root &&
        all.some((s) => s.service === 'parley-buffer' && s.name === 'process CustomerMessageReceived') &&
        all.some((s) => s.service === 'parley-presence-proxy' && s.name === 'append session');
      return whole ? all : undefined;
    }, 'the whole trace, up to the offer pushed by the gateway');
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const ancestry = (span: ReceivedSpan) => ancestryIn(spans, span);

    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['parley-gateway-web', 'parley-buffer', 'parley-presence-proxy', 'parley-router']));
    // Every span's parent was exported in the same trace: no link broke on the way between processes.
    expect(root.parentSpanId).toBe('');
    for (const s of spans.filter((x) => x !== root)) expect(byId.has(s.parentSpanId), `${s.service}: ${s.name}'s parent`).toBe(true);
    // The path of the message, each hop the descendant of the one before.
    const path = ancestry(spans.find(pushedOffer)!).map((s) => `${s.service}: ${s.name}`);
    expect(path).toEqual([
      'parley-gateway-web: POST /api/widget/messages',
      'parley-gateway-web: send parley.v1.as.channel.*.im.message',
      'parley-buffer: process parley.v1.as.channel.*.im.message',
      'parley-buffer: append session',
      'parley-presence-proxy: process CustomerMessageReceived',
      'parley-presence-proxy: append session',
      'parley-router: route offer',
      'parley-router: append session',
      'parley-router: process SessionOffered',
      'parley-router: publish parley.v1.agent.deliver.*',
      'parley-gateway-web: push delivery',
    ]);
    // Buffer's own consumer of the message is in the trace too.
    expect(spans.some((s) => s.service === 'parley-buffer' && s.name === 'process CustomerMessageReceived' && s.attributes['messaging.consumer.group.name'] === 'buffer-deliveries')).toBe(true);
    expect(spans.find((s) => s.name === 'route offer')!.attributes).toMatchObject({ 'parley.session.id': chat.sessionId, 'parley.agent.id': 'tr-agent', 'parley.queue.id': 'tr-billing' });
    expect(spans.find((s) => s.service === 'parley-presence-proxy' && s.name === 'append session')!.attributes).toMatchObject({
      'parley.session.id': chat.sessionId,
      'parley.event.types': ['IntakeAnswered', 'SessionQueued'],
    });
  });

  it('exports no message body and no customer address', async () => {
    const chat = await post('/api/widget/sessions', { address: 'tr-flow@support.example.test' });
    const words = `please keep this private ${randomUUID()}`;
    await post('/api/widget/messages', { messageId: randomUUID(), body: words }, chat.token);
    // Its retry prompt is delivered in the message's trace: once that trace holds the prompt's push and the spans
    // of buffer and presence-proxy (which handled the words), every service that saw them has exported.
    await until(() => {
      const prompt = receiver.spans.find(
        (s) =>
          s.name === 'push delivery' &&
          s.attributes['parley.session.id'] === chat.sessionId &&
          s.attributes['parley.delivery.kind'] === 'system' &&
          receiver.spans.some((r) => r.name === 'POST /api/widget/messages' && r.traceId === s.traceId),
      );
      const services = new Set(receiver.spans.filter((s) => s.traceId === prompt?.traceId).map((s) => s.service));
      return prompt && services.has('parley-buffer') && services.has('parley-presence-proxy') ? prompt : undefined;
    }, 'the retry prompt pushed in the message trace, with buffer and presence-proxy in it');
    const exported = receiver.bodies.join('\n');
    expect(exported).toContain(chat.sessionId);
    expect(exported).not.toContain(words.slice(0, 24));
    expect(exported).not.toMatch(/@visitors\.parley\.localhost/);
  });
});

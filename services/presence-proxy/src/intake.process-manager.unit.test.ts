import { CenterSettings } from '@parley/center-config';
import type { CustomerDelivery } from '@parley/contracts';
import { type SessionState, sessionAggregate } from '@parley/domain';
import { CommandHandler, InMemoryEventStore } from '@parley/event-store';
import { type DeliveryPublisher, runConsumer } from '@parley/service-kit';
import { eventually } from '@parley/testing';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IntakeProcessManager } from './intake.process-manager.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 21, 10, 0, s)).toISOString();
const ctx = (id: string, s: number) => ({ commandId: id, metadata: { correlationId: id, at: at(s), actor: 'test' } });

const CENTER = `
flows:
  - id: intake
    defaultLocale: en
    greeting: { en: Hello!, de: Hallo! }
    retry: { en: Sorry?, de: Wie bitte? }
    done: { en: Connecting you., de: Wir verbinden Sie. }
    maxAttempts: 2
    fallback: { queue: general }
    start: topic
    questions:
      - id: topic
        kind: menu
        attribute: topic
        prompt: { en: Billing or tech?, de: Rechnung oder Technik? }
        options:
          - { key: "1", label: { en: Billing, de: Rechnung }, route: { queue: billing } }
          - { key: "2", label: { en: Tech, de: Technik }, route: { queue: tech, priority: 1 } }
entryPoints:
  - { id: ep, flow: intake }
queues:
  - { id: general }
  - { id: billing }
  - { id: tech }
`;

describe('presence-proxy intake process manager (in-memory store)', () => {
  it('greets in the customer language, re-asks a bad answer, and queues on the route the answer maps to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-intake-'));
    writeFileSync(join(dir, 'center.yaml'), CENTER);
    const center = CenterSettings.load(join(dir, 'center.yaml'));
    const store = new InMemoryEventStore();
    const commands = new CommandHandler(store);
    const said: CustomerDelivery[] = [];
    const deliveries = { toCustomer: async (_c: string, d: CustomerDelivery) => void said.push(d) } as unknown as DeliveryPublisher;
    const pm = await runConsumer(store, new IntakeProcessManager(center, commands, deliveries));
    const session = sessionAggregate.stream('s1');
    const core = { sessionId: 's1', entryPointId: 'ep', channel: 'web', customerAddress: 'jo@customers.test', sessionAddress: 's-s1@acme.test', client: null, locale: 'de', openedAt: at(0) };
    await commands.handle(
      session,
      { kind: 'open', core, route: { queueId: 'general', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } }, intake: { flowId: 'intake', start: 'topic' }, notBefore: null },
      ctx('open', 0),
      { isNew: true },
    );
    await eventually(
      () => said,
      (s) => s.length === 1,
      'the greeting',
    );
    expect(said[0]!.body).toContain('Hallo!');
    expect(said[0]!.body).toContain('Rechnung oder Technik?');
    const write = (id: string, body: string, s: number) =>
      commands.handle(session, { kind: 'receive-customer-message', channel: 'web', from: core.customerAddress, messageId: id, body, now: at(s) }, ctx(id, s));
    await write('m1', 'banana', 1);
    await eventually(
      () => said,
      (s) => s.length === 2,
      'the re-ask',
    );
    expect(said[1]!.body).toContain('Wie bitte?');
    await write('m2', '2', 2);
    const queued = await eventually(
      async () => (await new CommandHandler(store).load(session)).state,
      (s: SessionState) => s.status === 'queued',
      'the session to be queued',
    );
    expect(queued).toMatchObject({ status: 'queued', place: { queueId: 'tech', priority: 1 }, answers: { topic: '2' } });
    await eventually(
      () => said,
      (s) => s.length === 3,
      'the closing words',
    );
    expect(said[2]!.body).toBe('Wir verbinden Sie.');
    await pm.stop();
  });
});

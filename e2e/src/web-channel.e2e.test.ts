import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, scryptSync } from 'node:crypto';
import { SUBJECTS } from '@parley/contracts';
import type { ServiceHandle } from '@parley/testing';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ParleyStack, until } from './parley-stack.js';

/** The users file's format (scripts/hash-password.mjs makes the same). */
const hashPassword = (password: string, salt: Buffer) => `scrypt$${salt.toString('base64')}$${scryptSync(password, salt, 32).toString('base64')}`;
const artifacts = fileURLToPath(new URL('../../test-artifacts/web/', import.meta.url));
const demoCenter = fileURLToPath(new URL('../../infra/demo/contact-center.yaml', import.meta.url));
let stack: ParleyStack;
let web: ServiceHandle;
let browser: Browser;
let base: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  const users = join(mkdtempSync(join(tmpdir(), 'parley-web-')), 'users.yaml');
  writeFileSync(
    users,
    stringify({
      users: [
        { username: 'alex', passwordHash: hashPassword('alex-pass', randomBytes(16)), role: 'agent', agent: { agentId: 'web-alex', displayName: 'Alex', skills: { general: 4 }, capacity: 2, queues: ['support'] } },
        { username: 'sam', passwordHash: hashPassword('sam-pass', randomBytes(16)), role: 'supervisor' },
      ],
    }),
  );
  stack = await ParleyStack.start({ PARLEY_CENTER_FILE: demoCenter, OFFER_TIMEOUT_SECONDS: '60', ROUTING_TICK_MS: '100', STATUS_INTERVAL_SECONDS: '2', HISTORY_SAMPLE_SECONDS: '1' });
  await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'demo-support', address: 'support@parley.example.test', queueId: 'support', leaseSeconds: 600 });
  web = await stack.launchExtra('gateway-web', { WEB_JWT_SECRET: randomBytes(32).toString('hex'), WEB_USERS_FILE: users });
  base = `http://127.0.0.1:${web.httpPort}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  if (pageProblems.length) console.warn(`what the pages reported:\n${pageProblems.join('\n')}`);
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await stack?.stop();
});

/** What pages said that a person would have seen: dialogs and console errors, reported if a test fails. */
const pageProblems: string[] = [];

async function page(): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  const p = await context.newPage();
  p.on('dialog', (d) => {
    pageProblems.push(`dialog on ${p.url()}: ${d.message()}`);
    void d.dismiss();
  });
  p.on('console', (m) => m.type() === 'error' && pageProblems.push(`console on ${p.url()}: ${m.text()}`));
  p.on('pageerror', (e) => pageProblems.push(`error on ${p.url()}: ${e.message}`));
  p.on('response', async (r) => {
    if (r.status() >= 400 && r.url().includes('/api/')) pageProblems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}: ${await r.text().catch(() => '')}`);
  });
  return p;
}

async function signIn(p: Page, path: string, user: string, password: string, prefix: 'd' | 's') {
  await p.goto(`${base}${path}`);
  await p.fill(`[data-${prefix}="user"]`, user);
  await p.fill(`[data-${prefix}="pass"]`, password);
  await p.press(`[data-${prefix}="pass"]`, 'Enter');
}

const waitingIn = async (p: Page) => Number(await p.locator('[data-queue="support"] [data-figure="waiting"] b').textContent({ timeout: 15_000 }));

describe('the web API', () => {
  it('serves every path docs/openapi-gateway-web.yaml documents, with a documented status', async () => {
    const { parse } = await import('yaml');
    const { readFileSync } = await import('node:fs');
    const doc = parse(readFileSync(fileURLToPath(new URL('../../docs/openapi-gateway-web.yaml', import.meta.url)), 'utf8')) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const url = `${base}${path.replace('{offerId}', 'o1').replace('{answer}', 'accept').replace('{sessionId}', 's1')}${path.endsWith('availability') ? '?address=nobody@example.test' : ''}`;
        const res = await fetch(url, { method: method.toUpperCase(), headers: { 'content-type': 'application/json' }, ...(method === 'post' ? { body: '{}' } : {}) });
        expect(Object.keys(op.responses), `${method.toUpperCase()} ${path}`).toContain(String(res.status));
      }
    }
  });
});

describe('the web channel in a real browser', () => {
  let customer: Page;
  let desk: Page;
  let supervisor: Page;

  it('takes a customer from the widget through intake and the queue to an agent, and back', async () => {
    supervisor = await page();
    await signIn(supervisor, '/supervisor', 'sam', 'sam-pass', 's');
    await supervisor.waitForSelector('[data-queue="support"]', { timeout: 15_000 });
    expect(await supervisor.locator('[data-s="login"]').isVisible()).toBe(false);

    customer = await page();
    await customer.goto(`${base}/demo`);
    await customer.getByText('We are here to help.').waitFor();
    await customer.getByRole('button', { name: 'Start a chat' }).click();
    await customer.locator('.parley-widget li').filter({ hasText: 'What can we help you with?' }).waitFor();
    // Keyboard only: type the answer and press Enter.
    await customer.locator('#pw-input').fill('2');
    await customer.keyboard.press('Enter');
    const queue = customer.locator('[data-pw="queue"]');
    await queue.waitFor({ state: 'visible' });
    expect(await queue.getAttribute('data-position')).toBe('0');
    expect(await queue.textContent()).toContain('Your place in the queue: 1');
    await until(async () => ((await waitingIn(supervisor)) === 1) || undefined, 'the dashboard to show one waiting');
    await customer.screenshot({ path: join(artifacts, 'widget-waiting.png') });
    await supervisor.screenshot({ path: join(artifacts, 'supervisor-waiting.png'), fullPage: true });

    desk = await page();
    await signIn(desk, '/desk', 'alex', 'alex-pass', 'd');
    await desk.locator('[data-d="state-form"]').waitFor();
    expect(await desk.locator('[data-d="login"]').isVisible()).toBe(false);
    await desk.selectOption('[data-d="state"]', 'available');
    await desk.getByRole('button', { name: 'Set' }).click();
    const offer = desk.locator('[data-offer]');
    await offer.waitFor({ timeout: 15_000 });
    expect(await offer.textContent()).toContain('topic = 2');
    expect(await offer.textContent()).toContain('Parley web widget');
    expect(await offer.textContent()).toMatch(/Expires in \d+ s/);
    await desk.screenshot({ path: join(artifacts, 'desk-offer.png'), fullPage: true });
    await offer.getByRole('button', { name: 'Accept' }).click();
    await until(async () => ((await waitingIn(supervisor)) === 0) || undefined, 'the dashboard to show nobody waiting');

    // Markup in a message stays text on both sides.
    await customer.locator('#pw-input').fill('<script>window.pwned=1</script><b>help</b>');
    await customer.keyboard.press('Enter');
    const atDesk = desk.locator('[data-d="log"] li').filter({ hasText: '<script>window.pwned=1</script><b>help</b>' });
    await atDesk.waitFor();
    expect(await desk.locator('[data-d="log"] script, [data-d="log"] b').count()).toBe(0);
    await desk.fill('[data-d="say-input"]', 'Hello, I am here. <img src=x onerror="window.pwned=2">');
    await desk.press('[data-d="say-input"]', 'Enter');
    const reply = customer.locator('.parley-widget li').filter({ hasText: 'Hello, I am here. <img src=x onerror="window.pwned=2">' });
    await reply.waitFor();
    expect(await reply.textContent()).toContain('Alex');
    expect(await customer.locator('.parley-widget li img, .parley-widget li script').count()).toBe(0);
    expect(await customer.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await desk.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    await customer.screenshot({ path: join(artifacts, 'widget-conversation.png') });
    await desk.screenshot({ path: join(artifacts, 'desk-conversation.png'), fullPage: true });
  });

  it('resumes the widget and the desktop after a reload mid-conversation, with nothing lost', async () => {
    await customer.reload();
    await customer.locator('.parley-widget li').filter({ hasText: 'Hello, I am here.' }).waitFor();
    await desk.reload();
    await desk.locator('[data-d="log"] li').filter({ hasText: '<b>help</b>' }).waitFor();
    // Words sent while the other side's page was reloading arrive too.
    await customer.locator('#pw-input').fill('Are you still there after my reload?');
    await customer.keyboard.press('Enter');
    await desk.locator('[data-d="log"] li').filter({ hasText: 'Are you still there after my reload?' }).waitFor();
    await desk.fill('[data-d="say-input"]', 'Yes, still here.');
    await desk.press('[data-d="say-input"]', 'Enter');
    await customer.locator('.parley-widget li').filter({ hasText: 'Yes, still here.' }).waitFor();
    const lines = await customer.locator('.parley-widget li').allTextContents();
    expect(lines.filter((l) => l.includes('Hello, I am here.'))).toHaveLength(1);
  });

  it('keeps another customer out of this session', async () => {
    const other = await page();
    await other.goto(`${base}/demo`);
    await other.getByRole('button', { name: 'Start a chat' }).click();
    await other.locator('.parley-widget li').filter({ hasText: 'What can we help you with?' }).waitFor();
    const stored = await customer.evaluate(() => JSON.parse(localStorage.getItem('parley-widget:support@parley.example.test') ?? '{}'));
    const mine = await other.evaluate(() => JSON.parse(localStorage.getItem('parley-widget:support@parley.example.test') ?? '{}'));
    expect(mine.sessionId).not.toBe(stored.sessionId);
    // Posting with a token whose signature was tampered with, or to the desk with a customer token, is refused.
    const forged = `${mine.token.split('.').slice(0, 2).join('.')}.${'A'.repeat(43)}`;
    const post = (path: string, token: string, body: object) =>
      other.evaluate(async ([p, t, b]) => { const r = await fetch(p as string, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` }, body: JSON.stringify(b) }); return { status: r.status, body: await r.json() }; }, [path, token, body] as const);
    expect(await post('/api/widget/messages', forged, { messageId: 'x1', body: 'let me in' })).toMatchObject({ status: 401, body: { error: { code: 'forbidden' } } });
    expect(await post(`/api/desk/sessions/${stored.sessionId}/messages`, mine.token, { messageId: 'x2', body: 'hijack' })).toMatchObject({ status: 403 });
    // Its own messages go to its own session only.
    await other.locator('#pw-input').fill('I am the other customer');
    await other.keyboard.press('Enter');
    await other.locator('.parley-widget li').filter({ hasText: 'I am the other customer' }).waitFor();
    await customer.waitForTimeout(500);
    expect(await customer.locator('.parley-widget li').filter({ hasText: 'other customer' }).count()).toBe(0);
    expect(await desk.locator('[data-d="log"] li').filter({ hasText: 'hijack' }).count()).toBe(0);
    const events = (await stack.store.readStream({ aggregate: 'session', id: stored.sessionId })).events;
    expect(events.some((e) => JSON.stringify(e.data).includes('hijack') || JSON.stringify(e.data).includes('other customer'))).toBe(false);
  });

  it('ends with a disposition, and the customer is told', async () => {
    await desk.selectOption('[data-d="disposition"]', 'resolved');
    await desk.getByRole('button', { name: 'End conversation' }).click();
    await customer.locator('.parley-widget li').filter({ hasText: 'The conversation has ended' }).waitFor();
    const stored = await customer.evaluate(() => JSON.parse(localStorage.getItem('parley-widget:support@parley.example.test') ?? '{}'));
    const ended = (await stack.store.readStream({ aggregate: 'session', id: stored.sessionId })).events.find((e) => e.type === 'SessionEnded');
    expect(ended?.data).toMatchObject({ endedBy: 'agent', disposition: 'resolved' });
    // The supervisor asks why this session went where it went, from its events.
    await supervisor.fill('[data-s="session"]', stored.sessionId);
    await supervisor.getByRole('button', { name: 'Timeline and why' }).click();
    await supervisor.locator('[data-s="why-offers"] tr').filter({ hasText: 'web-alex' }).waitFor();
    expect(await supervisor.locator('[data-s="why-offers"] tr').first().textContent()).toMatch(/accepted.*step 1/);
    expect(await supervisor.locator('[data-s="why-timeline"]').textContent()).toContain('disposition resolved');
    await supervisor.screenshot({ path: join(artifacts, 'supervisor-after.png'), fullPage: true });
    await customer.screenshot({ path: join(artifacts, 'widget-ended.png') });
  });
});

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');
const start = read('scripts/start.mjs');
const readme = read('README.md');

describe('the README tells what the start command does', () => {
  it('documents every variable the start command reads', () => {
    const variables = [...new Set([...start.matchAll(/(?:process\.env\.|portVariable\(')([A-Z_]+)/g)].map((m) => m[1]!))];
    expect(variables).toEqual(expect.arrayContaining(['PARLEY_XMPP_PORT', 'PARLEY_XMPP_COMPONENT_PORT', 'PARLEY_HTTP_PORT_BASE', 'NATS_URL']));
    const undocumented = variables.filter((v) => !readme.includes(`\`${v}`));
    expect(undocumented).toEqual([]);
  });

  it('counts the services it starts and lists every port of its table', () => {
    const services = start.match(/const SERVICES = \[([^\]]+)\]/)![1]!.split(',').length + ['gateway-web', 'gateway-xmpp'].length;
    const words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    expect(readme).toContain(`the ${words[services]} services`);
    expect(readme).not.toMatch(/the (five|six|eight) services/);
    for (const port of ['4222', '8222', '3101', '3102', '3103', '3104', '3105', '3106', '3107', '5222', '5347']) expect(readme).toContain(port);
  });
});

#!/usr/bin/env node
// Writes the events × consumers table into docs/architecture.md from the services' own @EventConsumer/@On
// declarations (the unit test of each service checks the document against them).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nxEnv, root, run } from './prerequisites.mjs';

const SERVICES = { buffer: ['delivery.process-manager.js'], router: ['offer.process-manager.js'], 'presence-proxy': ['intake.process-manager.js'] };
if (run('npx', ['nx', 'run-many', '-t', 'build', '-p', ...Object.keys(SERVICES), '--output-style=static'], { env: nxEnv, stdio: ['ignore', 'ignore', 'inherit'] }) !== 0) process.exit(1);
const kit = await import('@parley/service-kit');
const rows = [];
for (const [service, files] of Object.entries(SERVICES)) {
  const before = kit.DECLARED_CONSUMERS.length;
  for (const f of files) await import(join(root, 'services', service, 'dist', f));
  rows.push(...kit.consumerTableRows(service, kit.DECLARED_CONSUMERS.slice(before)));
}
const table = ['| aggregate | event | service | consumer | handler |', '| --- | --- | --- | --- | --- |', ...rows.sort()].join('\n');
const file = join(root, 'docs', 'architecture.md');
const doc = readFileSync(file, 'utf8');
const begin = doc.indexOf(kit.CONSUMER_TABLE_BEGIN);
const end = doc.indexOf(kit.CONSUMER_TABLE_END);
if (begin < 0 || end < begin) throw new Error('docs/architecture.md has no events × consumers markers');
writeFileSync(file, `${doc.slice(0, begin + kit.CONSUMER_TABLE_BEGIN.length)}\n${table}\n${doc.slice(end)}`);
// The document is kept formatted (the table's columns aligned) like every file.
run('npx', ['prettier', '--write', file, '--log-level', 'warn']);
process.stdout.write(`docs/architecture.md: ${rows.length} rows\n`);

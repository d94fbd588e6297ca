#!/usr/bin/env node
// The whole test suite, on a fresh machine: dependencies, nats-server, then lint, unit, integration and e2e
// tiers of every project through Nx. Ends with one line "tests: N passed, N failed".
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianProgram, ensureDependencies, log, nxEnv, root, run } from './prerequisites.mjs';

const started = Date.now();
try {
  ensureDependencies();
  const nats = ensureDebianProgram('nats-server');
  const prosody = ensureDebianProgram('prosody');
  const chromium = ensureDebianProgram('chromium');
  log(`nats-server: ${nats}; prosody: ${prosody}; chromium: ${chromium}`);
} catch (err) {
  process.stderr.write(`[parley] ${err.message}\n`);
  process.exit(1);
}

const reports = join(root, 'tmp', 'test-reports');
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
const targets = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['lint', 'test-unit', 'test-int', 'e2e'];
// One formatter for every file (.prettierrc.json): a file it would change fails the run, named by prettier.
log('checking formatting (npm run format fixes it) ...');
const formatted = run('npx', ['prettier', '--check', '.', '--log-level', 'warn'], { env: nxEnv });
log(`running ${targets.join(', ')} for every project ...`);
const status = run('npx', ['nx', 'run-many', '-t', ...targets, '--output-style=stream'], { env: { ...nxEnv, PARLEY_TEST_REPORT_DIR: reports } });

let passed = 0;
let failed = 0;
for (const file of existsSync(reports) ? readdirSync(reports) : []) {
  const report = JSON.parse(readFileSync(join(reports, file), 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
}
log(`finished in ${Math.round((Date.now() - started) / 1000)} s`);
if ((status !== 0 || formatted !== 0) && failed === 0) failed = 1; // a failed format check, lint or build counts, so the summary never says green when they did not
process.stdout.write(`tests: ${passed} passed, ${failed} failed\n`);
process.exit(status === 0 && formatted === 0 && failed === 0 ? 0 : 1);

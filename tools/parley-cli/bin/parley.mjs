#!/usr/bin/env -S node --max-old-space-size=128
// `npx parley <command>`: the built command (run `npm run build` or `npx nx build parley-cli` first).
// The heap cap keeps a long export's memory bounded: V8 would otherwise let garbage grow the heap to hundreds of MB.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('parley: not built yet; run `npx nx build parley-cli` (or `npm run build`) from the repository root\n');
  process.exit(2);
}
await import(main);

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVICE_NODE_OPTIONS } from './service.launcher.js';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

describe("the services' V8 flags", () => {
  it('are the same in the container image, the start command and the test launcher (docs/operations.md, "Node flags")', () => {
    expect(SERVICE_NODE_OPTIONS).toMatch(/^--max-semi-space-size=\d+$/);
    expect(read('infra/Dockerfile')).toMatch(new RegExp(`^ENV .*NODE_OPTIONS=${SERVICE_NODE_OPTIONS}\\b`, 'm'));
    expect(read('scripts/start.mjs')).toContain(`const SERVICE_NODE_OPTIONS = '${SERVICE_NODE_OPTIONS}';`);
    expect(read('docs/operations.md')).toContain(`NODE_OPTIONS=${SERVICE_NODE_OPTIONS}`);
  });
});

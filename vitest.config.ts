import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// One config for every project; the tier (unit | int | e2e) picks the files by suffix so each tier is its own Nx target.
const tier = process.env.PARLEY_TEST_TIER ?? 'unit';
const timeouts: Record<string, number> = { unit: 10_000, int: 60_000, e2e: 120_000 };

export default defineConfig({
  plugins: [
    // SWC, not esbuild: NestJS needs decorator metadata.
    swc.vite({ jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2022' } }),
  ],
  oxc: false,
  resolve: {
    alias: [{ find: /^@parley\/([a-z-]+)$/, replacement: fileURLToPath(new URL('./libs/$1/src/index.ts', import.meta.url)) }],
  },
  test: {
    include: [`**/*.${tier}.test.ts`],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: timeouts[tier],
    hookTimeout: timeouts[tier],
    pool: 'forks',
    fileParallelism: tier !== 'e2e',
    // The test command sums these JSON reports into one closing line.
    reporters: process.env.PARLEY_TEST_REPORT_DIR ? ['default', 'json'] : ['default'],
    outputFile: process.env.PARLEY_TEST_REPORT_DIR ? { json: `${process.env.PARLEY_TEST_REPORT_DIR}/${process.env.NX_TASK_TARGET_PROJECT ?? 'workspace'}-${tier}.json` } : undefined,
  },
});

import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const framework = ['@nestjs/*', '@nats-io/*', 'express', 'prom-client', 'class-validator', 'class-transformer', 'reflect-metadata', 'rxjs', 'yaml'];
const io = ['node:*', 'fs', 'fs/promises', 'net', 'http', 'https', 'child_process', 'crypto', 'os', 'path'];

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '.nx/**', '.data/**', 'test-artifacts/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            // The domain is pure: no framework, no I/O, no clock or randomness imported.
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'], bannedExternalImports: [...framework, ...io] },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:domain'] },
            { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:domain', 'type:testing'] },
            { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:data-access', 'type:testing'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:testing', 'type:domain'] },
            // Services talk only over NATS: they import libraries, never each other.
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:data-access', 'type:platform', 'type:testing'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:data-access', 'type:platform', 'type:testing'] },
          ],
        },
      ],
    },
  },
  {
    // The pure core reads no clock, draws no random numbers and does no I/O: time and IDs come in with commands.
    files: ['libs/domain/src/**/*.ts', 'libs/errors/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'fs/*', 'net', 'http', 'https', 'child_process', 'crypto', 'os', 'path'], message: 'domain code does no I/O' }] }],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'pass the time in with the command' },
        { object: 'Math', property: 'random', message: 'pass IDs and randomness in with the command' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'pass the time in with the command' }],
    },
  },
];

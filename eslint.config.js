import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "ImportDeclaration[source.value='zod'][importKind!='type'] > ImportSpecifier[imported.name='z'][importKind!='type']",
          message: "Write `import * as z from 'zod'`: esbuild cannot drop zod's unused locales from the `z` export.",
        },
      ],
    },
  },
  {
    // The functions carry their configuration as JSON; the YAML parser stays out of their bundles.
    files: ['functions/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ['yaml'], patterns: ['**/config/load.ts'] }] },
  },
  {
    // Domain code is pure: no adapters, no AWS SDK, no wall clock.
    files: ['shared/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@aws-sdk/*', '**/adapters/**', 'node:*'] }],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Pass a Clock in.' }],
    },
  },
);

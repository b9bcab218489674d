import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import tseslint from 'typescript-eslint';

// The layers of docs/architecture.md, lowest first: a file may import from its own layer and those below it.
const LAYERS = [
  // shared/*.ts: errors and small helpers of their own (secret files, the package root).
  { name: 'contracts and config', paths: ['shared/*.ts', 'shared/contracts/**', 'shared/config/**'] },
  { name: 'domain', paths: ['shared/domain/**'] },
  { name: 'ports', paths: ['shared/ports/**'] },
  {
    name: 'libraries',
    paths: ['shared/probes/**', 'shared/responders/**', 'shared/webhooks/**', 'shared/api/**'],
  },
  { name: 'use cases', paths: ['shared/usecases/**'] },
  { name: 'adapters', paths: ['shared/adapters/**'] },
  { name: 'tools', paths: ['shared/simulator/**', 'shared/cost/**'] },
  {
    name: 'entry points',
    paths: ['shared/agent/**', 'functions/**', 'local/**', 'cli/**', 'infra/**', 'bench/**', 'scripts/**', 'web/**'],
  },
];

const layerZones = LAYERS.slice(0, -1).map((layer, i) => ({
  target: layer.paths,
  from: LAYERS.slice(i + 1).flatMap((above) => above.paths),
  message: `${layer.name} may not import from a layer above it (docs/architecture.md, "Layers").`,
}));

// Among the entry points: local/ wires functions/ together, cli/ starts local/, and none of them is the agent's.
const entryZones = [
  { target: ['functions/**'], from: ['local/**', 'cli/**', 'infra/**', 'bench/**', 'scripts/**'] },
  { target: ['local/**'], from: ['cli/**', 'infra/**', 'bench/**', 'scripts/**'] },
  { target: ['infra/**'], from: ['local/**', 'cli/**', 'bench/**', 'scripts/**'] },
  { target: ['shared/agent/**'], from: ['functions/**', 'local/**', 'cli/**', 'infra/**', 'bench/**', 'scripts/**'] },
  // The browser's code (web/) is built apart and served as files: nothing on the server side imports it, and it
  // imports no entry point (its use of shared/ is limited below to the contracts' types).
  {
    target: ['shared/**', 'functions/**', 'local/**', 'cli/**', 'infra/**', 'bench/**', 'scripts/**'],
    from: ['web/**'],
  },
  {
    target: ['web/**'],
    from: ['shared/agent/**', 'functions/**', 'local/**', 'cli/**', 'infra/**', 'bench/**', 'scripts/**'],
  },
].map((zone) => ({
  ...zone,
  message: 'entry points import each other only downwards (docs/architecture.md, "Layers").',
}));

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
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Files do not change during a run; with the default 30 s lifetime a slow run parses them again.
      'import-x/cache': { lifetime: '∞' },
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        { basePath: import.meta.dirname, zones: [...layerZones, ...entryZones] },
      ],
    },
  },
  {
    // Product code only: nothing imports a test, so a cycle through one is all but impossible, and walking the graph
    // from each of the test files is most of what no-cycle would cost there.
    files: ['{shared,functions,local,cli,infra,bench,scripts}/**/*.ts'],
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // The functions carry their configuration as JSON; the YAML parser stays out of their bundles.
    files: ['functions/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ['yaml'], patterns: ['**/config/load.ts'] }] },
  },
  {
    // The browser reads the API over HTTP only: from shared/ it may take the contracts' types, never their code.
    files: ['web/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/shared/contracts/**'],
              allowTypeImports: true,
              message:
                'web/ may import only types from shared/contracts (docs/architecture.md, "Web dashboard and status page").',
            },
            {
              regex: '(^|/)shared/(?!contracts/)',
              message:
                'web/ may import only types from shared/contracts (docs/architecture.md, "Web dashboard and status page").',
            },
            { group: ['zod'], allowTypeImports: true, message: 'web/ takes zod types only, through the contracts.' },
          ],
        },
      ],
    },
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

// Lint config. The import boundaries below are the architecture (DESIGN.md "Process model"), written
// as data: do not relax them to make an import pass; move the code to the right layer instead.
import js from '@eslint/js';
import globals from 'globals';
import svelte from 'eslint-plugin-svelte';
import tseslint from 'typescript-eslint';

const nativeOnlyInMain = ['better-sqlite3', 'onnxruntime-node', '**/native/build/**', '**/*.node'];

export default tseslint.config(
  {
    ignores: [
      'out/**',
      'dist/**',
      'node_modules/**',
      'native/build/**',
      'test/e2e/logs/**',
      'test/bench/work/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    // Only the Electron shell may import electron.
    files: ['src-main/**/*.ts', 'src-main/**/*.cts'],
    ignores: ['src-main/electron/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', message: 'Only src-main/electron/ may import electron.' }] },
      ],
    },
  },
  {
    // The renderer talks to the main process only through the api client. From src-main it may import
    // only the contract: its types, and the pure slide-image URL module (code both sides run).
    files: ['src-renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'The renderer uses the api client, not electron.' }],
          patterns: [
            { group: nativeOnlyInMain, message: 'Native modules run only in the main or job process.' },
            {
              regex: '(^|/)src-main/(?!contract/)',
              message: 'The renderer may import only from src-main/contract/.',
            },
            {
              regex: '(^|/)src-main/contract/(?!slide-image-urls\\.js$)',
              allowTypeImports: true,
              message: 'Import the contract with `import type` only (its schemas are main-side code).',
            },
          ],
        },
      ],
    },
  },
);

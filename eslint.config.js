// Lint config. The import boundaries below are the architecture (docs/ARCHITECTURE.md "Layers"), written
// as data. DO NOT RELAX THEM to make an import pass: move the code to the right layer, or pass what it
// needs in from above. Changing the order itself is a design decision: change ARCHITECTURE.md with it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import globals from 'globals';
import svelte from 'eslint-plugin-svelte';
import tseslint from 'typescript-eslint';
import layerOrder from './eslint-rules/layer-order.js';

const nativeOnlyInMain = ['better-sqlite3', 'onnxruntime-node', '**/native/build/**', '**/*.node'];

/**
 * The main side's layers, bottom first. A folder (or top-level file) of src-main/ may import only from
 * the tiers below its own: not from its own tier (peers stay independent), never from above. Folders
 * named here that do not exist yet are the rooms the next features go into.
 */
export const mainLayers = [
  // The typed API both processes share, and the slide-image URL format; imports nothing of ours.
  ['contract'],
  // Process-wide basics: the package root on disk, the log.
  ['package-root.ts', 'log.ts'],
  // What the app's files say about themselves: its version, and whether it runs from a source checkout.
  ['version.ts', 'build-hint.ts'],
  // Capabilities that know nothing of projects: storage, slide reading, the native engine.
  ['db', 'slides', 'engine'],
  // The project domain: a project folder, its database and files (slides repo, import; labels, tasks,
  // cohorts and annotations go here as files).
  // Beside it, model files in other formats over the engine (ONNX export and import).
  ['project', 'onnx'],
  // What outlives a request (the open project, recent list, demo, user-data folder); and the
  // computations over a project that the jobs will run.
  ['app-state', 'training'],
  // Applying trained models to slides (inference jobs, heatmap rasters): built on training's patch pipeline.
  ['inference'],
  // Services over the open project: the viewer's pixels, background jobs.
  ['viewer-pixels', 'jobs'],
  // Wiring: the command handlers and services; what both shells need to host the renderer.
  ['api', 'renderer-host'],
  // The transports, then the command line (whose `serve` starts the browser-mode server).
  ['server', 'electron'],
  ['cli'],
];

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
    // The layer order above, enforced (eslint-rules/layer-order.js; tested in test/unit/lint/).
    files: ['src-main/**/*.ts', 'src-main/**/*.cts'],
    plugins: { local: { rules: { 'layer-order': layerOrder } } },
    rules: {
      'local/layer-order': [
        'error',
        { root: path.join(path.dirname(fileURLToPath(import.meta.url)), 'src-main'), layers: mainLayers },
      ],
    },
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
    // only the contract: its types, and its pure modules both sides run (slide-image URLs, heatmap colours,
    // annotation measures).
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
              regex: '(^|/)src-main/contract/(?!(slide-image-urls|heatmap-colors|annotation-shapes)\\.js$)',
              allowTypeImports: true,
              message: 'Import the contract with `import type` only (its schemas are main-side code).',
            },
          ],
        },
      ],
    },
  },
);

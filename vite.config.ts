// Builds the renderer (src-renderer) into out/renderer, which both Electron's protocol and the
// browser-mode server serve. Relative base so the same build works under either origin.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: 'src-renderer',
  base: './',
  // The root is src-renderer, so the shared svelte.config.js must be named explicitly.
  plugins: [svelte({ configFile: fileURLToPath(new URL('./svelte.config.js', import.meta.url)) })],
  build: {
    outDir: '../out/renderer',
    emptyOutDir: true,
    // Electron 45 and current Chromium; no legacy transforms.
    target: 'es2022',
    sourcemap: true,
  },
  server: { strictPort: false },
});

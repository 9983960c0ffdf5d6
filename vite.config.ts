// Builds the renderer (src-renderer) into out/renderer, which both Electron's protocol and the
// browser-mode server serve. Relative base so the same build works under either origin.
//
// Development with hot reload: start `node bin/tessera.js serve`, then
//   TESSERA_SERVE_URL='<the URL it printed>' npm run dev:renderer
// and the dev server forwards /api, /tiles and /events to it with the token.
import { defineConfig, type ProxyOptions } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';

function proxyToTesseraServer(launchUrl: string | undefined): Record<string, ProxyOptions> | undefined {
  if (!launchUrl) return undefined;
  const url = new URL(launchUrl);
  const headers = { Authorization: `Bearer ${url.searchParams.get('token') ?? ''}` };
  // The server takes API calls and the event socket only from its own origin, or with no Origin from a
  // client that shows the token in Authorization: this proxy is such a client, so the page's Origin (the
  // dev server's) is dropped on the way.
  const configure: ProxyOptions['configure'] = (proxy) => {
    proxy.on('proxyReq', (proxyReq) => proxyReq.removeHeader('origin'));
    proxy.on('proxyReqWs', (proxyReq) => proxyReq.removeHeader('origin'));
  };
  // changeOrigin: the server accepts only its own Host header (DNS-rebinding guard).
  const common = { target: url.origin, changeOrigin: true, headers, configure };
  return {
    '/api': common,
    '/tiles': common,
    '/events': { ...common, target: url.origin.replace(/^http/, 'ws'), ws: true },
  };
}

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
  server: {
    host: '127.0.0.1',
    proxy: proxyToTesseraServer(process.env.TESSERA_SERVE_URL),
  },
});

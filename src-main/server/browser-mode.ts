/**
 * Wires the services to the HTTP/WebSocket transport: what `tessera serve` and `npm start` (without
 * Electron) run.
 */
import { createAppServices, type AppServices } from '../api/services.js';
import { rendererDir } from '../renderer-host/renderer-dir.js';
import { startServer, type RunningServer } from './server.js';
import { tileRoute } from './tile-route.js';

export interface BrowserModeOptions {
  userDataDir: string;
  projectDir?: string | null;
  host?: string;
  port?: number;
  token?: string;
}

export interface BrowserMode {
  server: RunningServer;
  services: AppServices;
  close(): Promise<void>;
}

export async function startBrowserMode(options: BrowserModeOptions): Promise<BrowserMode> {
  const services = createAppServices(options.userDataDir, 'browser');
  if (options.projectDir) await services.session.open(options.projectDir);
  const server = await startServer({
    handlers: services.handlers,
    session: services.session,
    rendererDir: rendererDir(),
    host: options.host,
    port: options.port,
    token: options.token,
    routes: [tileRoute(services.slideImages)],
  });
  return {
    server,
    services,
    close: async () => {
      await server.close();
      await services.close();
    },
  };
}

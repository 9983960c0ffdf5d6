/**
 * Wires the services to the HTTP/WebSocket transport: what `tessera serve` and `npm start` (without
 * Electron) run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHandlers } from '../api/handlers.js';
import { AppSession } from '../project/session.js';
import { appRoot } from '../version.js';
import { startServer, type RunningServer, type Route } from './server.js';

export interface BrowserModeOptions {
  userDataDir: string;
  projectDir?: string | null;
  host?: string;
  port?: number;
  token?: string;
  routes?: (session: AppSession) => Route[];
}

export interface BrowserMode {
  server: RunningServer;
  session: AppSession;
  close(): Promise<void>;
}

export function rendererDir(): string | null {
  const dir = path.join(appRoot(), 'out', 'renderer');
  return fs.existsSync(path.join(dir, 'index.html')) ? dir : null;
}

export async function startBrowserMode(options: BrowserModeOptions): Promise<BrowserMode> {
  const session = new AppSession(options.userDataDir);
  if (options.projectDir) await session.open(options.projectDir);
  const server = await startServer({
    handlers: createHandlers({ session, mode: 'browser' }),
    session,
    rendererDir: rendererDir(),
    host: options.host,
    port: options.port,
    token: options.token,
    routes: options.routes?.(session),
  });
  return {
    server,
    session,
    close: async () => {
      await server.close();
      session.close();
    },
  };
}

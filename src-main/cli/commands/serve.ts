import type { Command } from 'commander';
import { defaultUserDataDir } from '../../app-state/app-paths.js';
import { startBrowserMode } from '../../server/browser-mode.js';
import { parseIntegerOption } from '../errors.js';
import type { CliIo } from '../index.js';

export function register(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('serve the app to a browser (browser mode), optionally opening project DIR')
    .argument('[dir]', 'project folder to open')
    .option('--port <n>', 'port to listen on (default: a free port)', '0')
    .option(
      '--host <host>',
      'address to bind (default 127.0.0.1; anything else exposes Tessera to a network)',
    )
    .action(async (dir: string | undefined, opts: { port: string; host?: string }) => {
      const port = parseIntegerOption('--port', opts.port, 0, 65535);
      const host = opts.host ?? '127.0.0.1';
      const app = await startBrowserMode({
        userDataDir: defaultUserDataDir(),
        projectDir: dir ?? null,
        host,
        port,
      });
      if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
        io.err(
          `WARNING: listening on ${host}: anyone who can reach this address and has the token can read and change your projects.\n`,
        );
      }
      io.out(`Tessera is running in browser mode. Open:\n  ${app.server.launchUrl}\n`);
      if (!app.server.url) return;
      await waitForSignal();
      await app.close();
    });
}

export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

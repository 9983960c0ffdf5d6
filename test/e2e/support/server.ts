/**
 * Starts the built app in browser mode (`tessera serve`) for the e2e run, the way a user would, with a
 * throwaway user-data folder so recent projects start empty and nothing of the real user is touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ServedApp {
  launchUrl: string;
  userDataDir: string;
  stop(): Promise<void>;
}

export async function serveApp(repoRoot: string, logFile: string): Promise<ServedApp> {
  const entry = path.join(repoRoot, 'bin', 'tessera.js');
  const renderer = path.join(repoRoot, 'out', 'renderer', 'index.html');
  if (!fs.existsSync(renderer))
    throw new Error(`${renderer} is missing: run \`npm run build\` before the e2e tests.`);

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-userdata-'));
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.createWriteStream(logFile);
  const child = spawn(process.execPath, [entry, 'serve', '--port', '0'], {
    cwd: repoRoot,
    env: { ...process.env, TESSERA_USER_DATA: userDataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.pipe(log);

  const launchUrl = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => fail(new Error(`tessera serve printed no URL within 20 s:\n${seen}`)),
      20_000,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      log.write(chunk);
      seen += chunk.toString();
      const match = /(http:\/\/\S+\?token=\S+)/.exec(seen);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) =>
      fail(new Error(`tessera serve exited with code ${code} before printing a URL:\n${seen}`)),
    );
  });

  return {
    launchUrl,
    userDataDir,
    stop: async () => {
      await stopChild(child);
      log.end();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// `npm start`: the desktop app in Electron where its binary is installed; otherwise browser mode, said
// plainly, opening the default browser where there is one. Without a project argument it opens the demo
// project in the user-data folder.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureNativeDepsFor } from './native-deps.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

if (
  !fs.existsSync(path.join(root, 'out', 'main')) ||
  !fs.existsSync(path.join(root, 'out', 'renderer', 'index.html'))
) {
  console.log('Building Tessera (first start)…');
  const built = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

const electronBinary = findElectron();
if (electronBinary) {
  ensureNativeDepsFor('electron');
  const child = spawn(electronBinary, [root, ...args], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  await startBrowserMode();
}

/** The Electron executable if it is really installed. Never `require('electron')`: that tries to download it. */
function findElectron() {
  let dir;
  try {
    dir = path.dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return null;
  }
  const pathFile = path.join(dir, 'path.txt');
  const executable = fs.existsSync(pathFile) ? fs.readFileSync(pathFile, 'utf8').trim() : null;
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, executable || 'electron');
    return fs.existsSync(p) ? p : null;
  }
  if (!executable) return null;
  const binary = path.join(dir, 'dist', executable);
  return fs.existsSync(binary) ? binary : null;
}

async function startBrowserMode() {
  console.log(
    'Electron is not installed here (its binary could not be downloaded), so Tessera starts in browser mode.',
  );
  ensureNativeDepsFor('node');
  const load = (p) => import(pathToFileURL(path.join(root, 'out', 'main', p)).href);
  const { startBrowserMode } = await load('server/browser-mode.js');
  const { defaultUserDataDir } = await load('app-state/app-paths.js');
  const { ensureDemoProject } = await load('training/demo/first-use.js');
  const userDataDir = defaultUserDataDir();
  const projectDir = args.find((a) => !a.startsWith('-')) ?? (await openDemo(ensureDemoProject, userDataDir));
  const app = await startBrowserMode({ userDataDir, projectDir });
  const url = app.server.launchUrl;
  if (!openInBrowser(url)) console.log(`No default browser found. Open this address in a browser:\n  ${url}`);
  else console.log(`Opened Tessera in your browser. If it did not appear, open:\n  ${url}`);
  console.log('Press Ctrl+C to stop.');
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The demo cohort, made on first use (about a minute) with its progress on the console. */
async function openDemo(ensureDemoProject, userDataDir) {
  // TESSERA_DEMO_SLIDES: a smaller first-use demo (tests; a quick look).
  const slides = Number(process.env.TESSERA_DEMO_SLIDES) || undefined;
  let announced = false;
  return ensureDemoProject(userDataDir, {
    ...(slides ? { slides, scale: 0.4 } : {}),
    onProgress: ({ done, total }) => {
      if (!announced)
        console.log('First start: making the demo cohort (synthetic slides, labels and a split)…');
      announced = true;
      if (done === total || done % 8 === 0) console.log(`  ${done}/${total} slides painted`);
    },
  });
}

function openInBrowser(url) {
  const opener =
    process.platform === 'darwin'
      ? 'open'
      : process.platform === 'win32'
        ? 'explorer'
        : findOnPath('xdg-open');
  if (!opener || (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY))
    return false;
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => console.log(`Could not start a browser. Open:\n  ${url}`));
  child.unref();
  return true;
}

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

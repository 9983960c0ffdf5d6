/**
 * The Electron shell: one window, the menu, the app:// protocol for the renderer and the IPC transport
 * of the API contract. The only code in Tessera that imports electron; everything it calls is a plain
 * service that also runs under Node.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, session as electronSession, shell } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventNames } from '../contract/contract.js';
import { dispatch } from '../api/dispatch.js';
import { createAppServices } from '../api/services.js';
import { buildHint } from '../build-hint.js';
import { ensureDemoProject } from '../training/demo/first-use.js';
import { rendererDir } from '../renderer-host/renderer-dir.js';
import { log } from '../log.js';
import { packageRoot } from '../package-root.js';
import { buildMenu } from './menu.js';
import { utilityJobProcess } from './job-process-launcher.js';
import { APP_ORIGIN, registerAppScheme, serveRenderer } from './renderer-protocol.js';
import { serveSlideImages } from './slide-protocol.js';
import { loadWindowState, trackWindowState } from './window-state.js';

const here = path.dirname(fileURLToPath(import.meta.url));
registerAppScheme();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  void main();
}

async function main(): Promise<void> {
  await app.whenReady();
  const userDataDir = app.getPath('userData');
  const services = createAppServices(userDataDir, 'electron', utilityJobProcess);
  const { session, handlers } = services;
  let win: BrowserWindow | null = null;

  const projectArg = process.argv.slice(app.isPackaged ? 1 : 2).find((a) => !a.startsWith('-'));
  if (projectArg) {
    try {
      await session.open(projectArg);
    } catch (err) {
      log.error('could not open the start-up project', err);
    }
  } else {
    // The demo cohort is painted on first use (half a minute or so): the window opens meanwhile on the start
    // page, and the renderer follows onProjectChanged when the demo opens, unless the user has opened a
    // project of their own by then.
    void ensureDemoProject(userDataDir, {
      onProgress: ({ done, total }) => {
        if (done === total || done % 16 === 0) log.info(`demo cohort: ${done}/${total} slides painted`);
      },
    })
      .then(async (dir) => {
        if (!session.current) await session.open(dir);
      })
      .catch((err: unknown) => log.error('could not open the demo cohort', err));
  }

  const renderer = rendererDir();
  if (!renderer) {
    dialog.showErrorBox('Tessera', `The renderer (out/renderer) is missing${buildHint('npm run build')}.`);
    app.quit();
    return;
  }
  serveRenderer(renderer);
  serveSlideImages(services.slideImages);
  lockDownSessions();

  const fromOurPage = (event: Electron.IpcMainInvokeEvent) =>
    event.senderFrame?.url.startsWith(`${APP_ORIGIN}/`);
  ipcMain.handle('tessera:call', async (event, command: unknown, input: unknown) => {
    if (!fromOurPage(event) || typeof command !== 'string') {
      return { ok: false, error: { code: 'unauthorized', message: 'Refused a call from an unknown page.' } };
    }
    return dispatch(handlers, command, input);
  });
  ipcMain.handle('tessera:pickFolder', async (event, title: unknown) => {
    if (!fromOurPage(event) || !win) return null;
    const result = await dialog.showOpenDialog(win, {
      title: typeof title === 'string' ? title.slice(0, 200) : 'Choose a folder',
      properties: ['openDirectory', 'createDirectory'],
    });
    return result.canceled ? null : (result.filePaths[0] ?? null);
  });
  for (const event of eventNames) {
    session.on(event, (payload) => win?.webContents.send(`tessera:event:${event}`, payload));
  }

  const openProjectFromMenu = async () => {
    if (!win) return;
    const result = await dialog.showOpenDialog(win, { title: 'Open project', properties: ['openDirectory'] });
    const dir = result.filePaths[0];
    if (result.canceled || !dir) return;
    try {
      await session.open(dir);
    } catch (err) {
      dialog.showErrorBox('Cannot open project', (err as Error).message);
    }
  };
  Menu.setApplicationMenu(buildMenu(session, { openProject: () => void openProjectFromMenu() }));

  const state = loadWindowState(userDataDir);
  win = new BrowserWindow({
    ...state.bounds,
    minWidth: 800,
    minHeight: 600,
    title: 'Tessera',
    // The window's own icon (Linux and Windows; an unpackaged run has no installed icon to fall back on).
    icon: path.join(packageRoot(), 'resources', 'icons', '256x256.png'),
    show: false,
    webPreferences: {
      preload: path.join(here, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  if (state.maximized) win.maximize();
  trackWindowState(win, userDataDir);
  win.once('ready-to-show', () => win?.show());
  win.on('closed', () => (win = null));
  await win.loadURL(`${APP_ORIGIN}/index.html`);

  app.on('second-instance', () => {
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.on('window-all-closed', () => {
    void services.close().finally(() => app.quit());
  });
}

/** No navigation away from the app, no new windows, no webviews, no permissions. */
function lockDownSessions(): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
    });
    contents.setWindowOpenHandler(({ url }) => {
      // Links to documentation open in the user's browser, never inside the app.
      if (url.startsWith('https://')) void shell.openExternal(url);
      return { action: 'deny' };
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  electronSession.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  electronSession.defaultSession.setPermissionCheckHandler(() => false);
}

/**
 * End-to-end tests: the built app in browser mode, driven in Debian's Chromium through its own
 * chromedriver, so nothing is downloaded. Run `npm run build` first, then `npm run test:e2e`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveApp, type ServedApp } from './support/server.ts';

const e2eDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(e2eDir, '../..');
const chromium = process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium';
const chromedriver = process.env.TESSERA_CHROMEDRIVER ?? '/usr/bin/chromedriver';

let app: ServedApp | null = null;
let profileDir: string | null = null;

export const config: WebdriverIO.Config = {
  runner: 'local',
  // The projects spec first: it starts from a fresh user-data folder with no recent projects.
  specs: ['./specs/projects.e2e.ts', './specs/**/*.e2e.ts'],
  maxInstances: 1,
  capabilities: [
    {
      browserName: 'chrome',
      'goog:chromeOptions': {
        binary: chromium,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
          '--disable-dev-shm-usage',
          '--window-size=1280,800',
          // Numbers in the page are formatted for this locale; the specs expect it.
          '--lang=en-US',
        ],
      },
      'wdio:chromedriverOptions': { binary: chromedriver },
    },
  ],
  logLevel: 'warn',
  outputDir: path.join(e2eDir, 'logs'),
  // Headless Chromium needs no X server; never let wdio look for or install Xvfb.
  autoXvfb: false,
  bail: 0,
  waitforTimeout: 10_000,
  connectionRetryTimeout: 60_000,
  connectionRetryCount: 1,
  framework: 'mocha',
  reporters: ['spec'],
  mochaOpts: { ui: 'bdd', timeout: 60_000 },

  onPrepare: async (_config, capabilities) => {
    for (const tool of [chromium, chromedriver]) {
      if (!fs.existsSync(tool))
        throw new Error(`${tool} is missing: install Debian's chromium and chromium-driver.`);
    }
    // A fresh browser profile per run, so no state leaks between runs.
    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-chromium-'));
    // Where a download lands (the annotations spec reads an exported GeoJSON from it).
    const downloads = path.join(profileDir, 'downloads');
    fs.mkdirSync(downloads);
    process.env.TESSERA_E2E_DOWNLOADS = downloads;
    for (const caps of capabilities as WebdriverIO.Capabilities[]) {
      const chrome = caps['goog:chromeOptions'];
      chrome?.args?.push(`--user-data-dir=${profileDir}`);
      if (chrome)
        chrome.prefs = { 'download.default_directory': downloads, 'download.prompt_for_download': false };
    }
    app = await serveApp(repoRoot, path.join(e2eDir, 'logs', 'server.log'));
    // Worker processes inherit the launcher's environment.
    process.env.TESSERA_E2E_URL = app.launchUrl;
  },

  onComplete: async () => {
    await app?.stop();
    if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  },
};

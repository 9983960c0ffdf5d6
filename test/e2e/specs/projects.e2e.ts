/**
 * Projects end to end in browser mode: the start screen, creating a project through the form, the
 * empty Library, closing, reopening from the recent list, a missing recent project, and an error
 * shown as the server's sentence in the error surface.
 */
import { browser, $, expect } from '@wdio/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportCspViolations } from '../support/page.ts';

const screenshots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../screenshots');
const byTestId = (id: string) => $(`[data-testid="${id}"]`);
const recentItem = (dir: string) => $(`[data-testid="recent-item"][data-dir="${dir}"]`);

/** What the page logged: uncaught exceptions and console messages, including CSP violations. */
interface LoggedEntry {
  type: string;
  level: string;
  text: string;
}

describe('projects', () => {
  let work: string;
  const pageLog: LoggedEntry[] = [];

  before(async () => {
    const launchUrl = process.env.TESSERA_E2E_URL;
    if (!launchUrl)
      throw new Error('TESSERA_E2E_URL is not set; run the specs through test/e2e/wdio.conf.ts.');
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-projects-'));
    browser.on('log.entryAdded', (entry) => {
      pageLog.push({ type: entry.type, level: entry.level, text: entry.text ?? '' });
    });
    await reportCspViolations();
    await browser.url(launchUrl);
  });

  after(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('shows the start screen with an empty recent list', async () => {
    await expect(byTestId('start-screen')).toBeDisplayed();
    await expect(byTestId('recent-empty')).toBeDisplayed();
    // The launch URL's token was traded for a cookie and removed from the address bar.
    await expect(browser).not.toHaveUrl(expect.stringContaining('token='));
    await expect(byTestId('create-dir')).toBeFocused();
    fs.mkdirSync(screenshots, { recursive: true });
    await browser.saveScreenshot(path.join(screenshots, 'start-screen.png'));
  });

  it('shows opening a folder that is not a project as a clear sentence', async () => {
    const notAProject = path.join(work, 'just-a-folder');
    fs.mkdirSync(notAProject);
    await byTestId('open-dir').setValue(notAProject);
    await browser.keys('Enter');

    const message = byTestId('error-message');
    await expect(message).toBeDisplayed();
    await expect(message).toHaveText(`${notAProject} is not a Tessera project (it has no project.sqlite).`);
    await expect(byTestId('error-surface')).toHaveAttribute('role', 'alert');
    await browser.saveScreenshot(path.join(screenshots, 'error.png'));
    await expect(byTestId('start-screen')).toBeDisplayed();

    await byTestId('error-dismiss').click();
    await expect(message).not.toBeExisting();
  });

  it('creates a project from the form and shows its empty library', async () => {
    const dir = path.join(work, 'ki67-pilot');
    await byTestId('create-dir').setValue(dir);
    await byTestId('create-name').setValue('Ki-67 pilot');
    await byTestId('create-submit').click();

    await expect(byTestId('view-library')).toBeDisplayed();
    await expect(byTestId('project-name')).toHaveText('Ki-67 pilot');
    await expect(byTestId('library-empty')).toHaveText(expect.stringContaining('No slides yet'));
    await expect(byTestId('library-empty')).toHaveText(
      expect.stringContaining('Import a folder of whole-slide images above'),
    );
    expect(fs.existsSync(path.join(dir, 'project.sqlite'))).toBe(true);
    await browser.saveScreenshot(path.join(screenshots, 'library-empty.png'));
    await expect(byTestId('error-message')).not.toBeExisting();
  });

  it('reaches every section from the keyboard', async () => {
    await byTestId('nav-library').click();
    await browser.keys('ArrowDown');
    await expect(byTestId('nav-viewer')).toBeFocused();
    await browser.keys('Enter');
    await expect(byTestId('viewer-empty')).toBeDisplayed();
    await browser.keys('End');
    await browser.keys('Enter');
    await expect(byTestId('results-empty')).toBeDisplayed();
    await expect(byTestId('nav-results')).toHaveAttribute('aria-current', 'page');
  });

  it('closes the project and reopens it from the recent list', async () => {
    const dir = path.join(work, 'ki67-pilot');
    await byTestId('close-project').click();
    await expect(byTestId('start-screen')).toBeDisplayed();
    await expect(recentItem(dir)).toBeDisplayed();
    await expect(recentItem(dir)).toHaveText(expect.stringContaining('Ki-67 pilot'));

    await recentItem(dir).$('[data-testid="recent-open"]').click();
    await expect(byTestId('view-library')).toBeDisplayed();
    await expect(byTestId('project-name')).toHaveText('Ki-67 pilot');
    await expect(byTestId('library-empty')).toHaveText(expect.stringContaining('No slides yet'));
  });

  it('follows a project closed elsewhere, as the Electron menu or another window would', async () => {
    await expect(byTestId('view-library')).toBeDisplayed();
    const launch = new URL(process.env.TESSERA_E2E_URL!);
    const response = await fetch(new URL('/api/project.close', launch.origin), {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${launch.searchParams.get('token')}`,
        'Content-Type': 'application/json',
      },
      body: '{}',
    });
    expect(response.status).toBe(200);
    // Only the page's event socket can tell it; the page made no call of its own.
    await expect(byTestId('start-screen')).toBeDisplayed();
  });

  it('marks a recent project whose folder is gone as missing and removes it on request', async () => {
    const dir = path.join(work, 'short-lived');
    await byTestId('create-dir').setValue(dir);
    await browser.keys('Enter');
    await expect(byTestId('project-name')).toHaveText('short-lived');
    await byTestId('close-project').click();
    fs.rmSync(dir, { recursive: true, force: true });

    await browser.refresh();
    const item = recentItem(dir);
    await expect(item.$('[data-testid="recent-missing"]')).toHaveText('missing', { ignoreCase: true });
    await expect(item.$('[data-testid="recent-open"]')).toBeDisabled();
    await browser.saveScreenshot(path.join(screenshots, 'recent-missing.png'));
    await item.$('[data-testid="recent-forget"]').click();
    await expect(item).not.toBeExisting();
    await expect(recentItem(path.join(work, 'ki67-pilot'))).toBeDisplayed();
  });

  it('ran without script errors or Content Security Policy violations', async () => {
    const problems = pageLog.filter(
      (e) => e.type === 'javascript' || /content security policy/i.test(e.text),
    );
    expect(problems).toEqual([]);
  });
});

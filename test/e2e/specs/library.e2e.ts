/**
 * The Library lists real slides: a project made and filled by the `tessera` CLI from the shared
 * scanner files, then opened in the page. Skips where they are absent (test/helpers/slides.ts).
 */
import { browser, $, $$, expect } from '@wdio/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedWsiDir } from '../../helpers/prerequisites.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// A test prerequisite: absent, the spec skips (CI=true: it fails instead).
const sharedSlides = sharedWsiDir();
const wsiDir = sharedSlides ?? '';
const screenshots = path.join(repoRoot, 'test/e2e/screenshots');
const byTestId = (id: string) => $(`[data-testid="${id}"]`);

describe('library', () => {
  let work: string;
  let projectDir: string;

  before(function () {
    if (!sharedSlides) {
      console.warn(`skipping the library spec: the shared scanner slides are absent (sharedWsiDir)`);
      this.skip();
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-library-'));
    projectDir = path.join(work, 'cmu');
    // The CLI gets its own user-data folder so the user's recent list is never touched.
    const env = { ...process.env, TESSERA_USER_DATA: path.join(work, 'cli-user-data') };
    const tessera = (...args: string[]) =>
      execFileSync(process.execPath, [path.join(repoRoot, 'bin/tessera.js'), ...args], {
        env,
        stdio: 'pipe',
      });
    tessera('project', 'init', projectDir);
    tessera('import', projectDir, wsiDir!);
  });

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('lists the imported slides with their size and resolution', async () => {
    await browser.url(process.env.TESSERA_E2E_URL!);
    await byTestId('open-dir').setValue(projectDir);
    await browser.keys('Enter');

    await expect(byTestId('library-summary')).toHaveText('2 slides');
    const rows = $$('[data-testid="slide-row"]');
    await expect(rows).toBeElementsArrayOfSize(2);
    const cells = await Promise.all(
      ['slide-name', 'slide-patient', 'slide-size', 'slide-resolution', 'slide-vendor'].map((id) =>
        rows[0]!.$(`[data-testid="${id}"]`).getText(),
      ),
    );
    // CMU-1-Small-Region: 2220 x 2967 pixels at 0.499 µm/px (SOURCES.md; OpenSlide agrees).
    expect(cells).toEqual(['CMU-1-Small-Region.svs', '—', '2,220 × 2,967 px', '0.499 µm/px', 'aperio']);
    await expect(rows[1]!.$('[data-testid="slide-name"]')).toHaveText('openslide-python-small.svs');
    await expect(byTestId('status-bar')).toHaveText(expect.stringContaining('2 slides'));
    fs.mkdirSync(screenshots, { recursive: true });
    await browser.saveScreenshot(path.join(screenshots, 'library-slides.png'));
    // Leave the start screen as it was: close, and remove the project from the recent list.
    await byTestId('close-project').click();
    const entry = $(`[data-testid="recent-item"][data-dir="${projectDir}"]`);
    await entry.$('[data-testid="recent-forget"]').click();
    await expect(entry).not.toBeExisting();
  });
});

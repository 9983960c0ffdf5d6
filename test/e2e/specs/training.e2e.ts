/**
 * Training end to end in browser mode: a tiny demo project (20 synthetic slides, labelled, split) opened
 * in the page; a short run started from the Training view's form; its loss chart moving epoch by epoch;
 * paused, resumed and finished from the run list; then the Results view with the run's ROC curve, its
 * confusion matrix following the threshold slider, and its predictions. Screenshots training.png and
 * results.png. No Content-Security-Policy violation may happen on the way (the charts draw under it).
 */
import { browser, $, expect } from '@wdio/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDemoCohort } from '../../../src-main/training/demo/cohort.ts';
import { closeProjectAndForget, collectCspViolations } from '../support/page.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const screenshots = path.join(repoRoot, 'test/e2e/screenshots');
const byTestId = (id: string) => $(`[data-testid="${id}"]`);

async function points(id: string): Promise<number> {
  return Number(await byTestId(id).getAttribute('data-points'));
}

describe('training and results', () => {
  let work: string;
  let projectDir: string;
  let violations: string[] = [];

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-training-'));
    projectDir = path.join(work, 'demo');
    await createDemoCohort(projectDir, { slides: 20, seed: 5, scale: 0.4, workers: 2 });
    violations = await collectCspViolations();
    await browser.url(process.env.TESSERA_E2E_URL!);
    await byTestId('open-dir').setValue(projectDir);
    await byTestId('open-submit').click();
    await expect(byTestId('nav-training')).toBeDisplayed();
  });

  after(async () => {
    await closeProjectAndForget(projectDir);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('starts a short run from the form, shows its chart moving, pauses, resumes and finishes it', async () => {
    await byTestId('nav-training').click();
    await expect(byTestId('new-run')).toBeDisplayed();
    await expect(byTestId('run-task-atypia')).toBeSelected();
    await byTestId('run-split').selectByAttribute('value', 'demo');
    // One linear-probe epoch (encoder frozen), then five end to end: six points on the charts.
    await byTestId('run-probe-epochs').setValue('1');
    await byTestId('run-epochs').setValue('5');
    await byTestId('run-patches').setValue('24');
    await byTestId('run-seed').setValue('3');
    await byTestId('run-start').click();

    await expect(byTestId('run-state-1')).toHaveText('running', { wait: 60_000 });
    await expect(byTestId('run-progress')).toBeDisplayed({ wait: 30_000 });
    // The chart moves: one point per finished epoch.
    await browser.waitUntil(async () => (await points('chart-loss')) >= 1, { timeout: 90_000 });
    const before = await points('chart-loss');
    await browser.waitUntil(async () => (await points('chart-loss')) > before, { timeout: 90_000 });

    await byTestId('run-pause-1').click();
    await expect(byTestId('run-state-1')).toHaveText('paused', { wait: 60_000 });
    const atPause = await points('chart-loss');
    expect(atPause).toBeLessThan(6);
    await byTestId('run-resume-1').click();
    await expect(byTestId('run-state-1')).toHaveText(expect.stringMatching(/queued|running/), {
      wait: 30_000,
    });
    await expect(byTestId('run-state-1')).toHaveText('completed', { wait: 180_000 });
    await browser.waitUntil(async () => (await points('chart-loss')) === 6, { timeout: 10_000 });
    expect(await points('chart-auroc')).toBe(6);
    await expect(byTestId('run-status')).toHaveText(expect.stringContaining('completed'));
    fs.mkdirSync(screenshots, { recursive: true });
    await browser.saveScreenshot(path.join(screenshots, 'training.png'));
  });

  it('shows the run in Results: ROC curve, a confusion matrix that follows the threshold, predictions', async () => {
    await byTestId('nav-results').click();
    await expect(byTestId('roc-chart')).toBeDisplayed({ wait: 20_000 });
    await expect(byTestId('roc-chart')).toHaveAttribute('data-curves', '1');
    await expect(byTestId('roc-chart').$('canvas')).toBeDisplayed();
    const rows = await $$('[data-testid="predictions"] tbody tr');
    expect(rows.length).toBe(4);
    const total = async () =>
      (await $$('[data-testid="confusion"] tbody td').map((td) => td.getText())).reduce(
        (a, b) => a + Number(b),
        0,
      );
    expect(await total()).toBe(4);
    // Threshold 0: every slide is called positive (the whole matrix in the positive column).
    await browser.execute(() => {
      const slider = document.querySelector('[data-testid="threshold"]') as HTMLInputElement;
      slider.value = '0';
      slider.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await expect(byTestId('threshold-value')).toHaveText('0.00');
    const cells = await $$('[data-testid="confusion"] tbody td').map((td) => td.getText());
    expect(cells).toEqual(['0', '2', '0', '2']);
    await expect(byTestId('balanced-accuracy')).toHaveText('0.500');
    await expect(byTestId('operating-point')).toHaveText(
      expect.stringContaining('true-positive rate 1.00, false-positive rate 1.00'),
    );
    await browser.execute(() => {
      const slider = document.querySelector('[data-testid="threshold"]') as HTMLInputElement;
      slider.value = '0.5';
      slider.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await browser.saveScreenshot(path.join(screenshots, 'results.png'));
    // A prediction opens its slide in the viewer.
    await rows[0]!.$('button').click();
    await expect(byTestId('view-viewer')).toBeDisplayed();
    expect(violations).toEqual([]);
  });
});

function $$(selector: string) {
  return browser.$$(selector);
}

/**
 * Inference and heatmaps end to end in browser mode: a tiny demo project with a short training run (made
 * with the built CLI), opened in the page; one slide predicted from the Library's Predict dialog; its
 * probability shown in the Library's prediction column; the slide opened in the Viewer; the heatmap toggled
 * on (its tiles drawn), its opacity moved, the value under the pointer read, and a top-k patch clicked (the
 * view moves onto it). Screenshot heatmap.png. Then the patches the run trains on for that slide, shown over
 * it with the tissue overlay: the count in the run's units, every kept patch outlined with the whole slide
 * in view, G toggling it. Screenshot patches.png. No Content-Security-Policy violation on the way.
 */
import { browser, $, $$, expect } from '@wdio/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDemoCohort } from '../../../src-main/training/demo/cohort.ts';
import { closeProjectAndForget, collectCspViolations } from '../support/page.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const screenshots = path.join(repoRoot, 'test/e2e/screenshots');
const byTestId = (id: string) => $(`[data-testid="${id}"]`);

describe('inference and heatmaps', () => {
  let work: string;
  let projectDir: string;
  let violations: string[] = [];

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-heatmap-'));
    projectDir = path.join(work, 'demo');
    await createDemoCohort(projectDir, { slides: 20, seed: 5, scale: 0.4, workers: 2 });
    execFileSync(
      process.execPath,
      [
        path.join(repoRoot, 'bin', 'tessera.js'),
        'train',
        projectDir,
        '--split',
        'demo',
        '--epochs',
        '1',
        '--patches-per-slide',
        '8',
        '--seed',
        '3',
      ],
      { stdio: 'ignore' },
    );
    violations = await collectCspViolations();
    await browser.url(process.env.TESSERA_E2E_URL!);
    await byTestId('open-dir').setValue(projectDir);
    await byTestId('open-submit').click();
    await expect(byTestId('library')).toBeDisplayed();
  });

  after(async () => {
    await closeProjectAndForget(projectDir);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('predicts a slide from the Library and shows its probability in a prediction column', async () => {
    const first = $$('[data-testid="slide-row"]')[0]!;
    await first.$('[data-testid="slide-name"]').click();
    await byTestId('predict-open').click();
    await expect(byTestId('predict-run')).toBeDisplayed({ wait: 10_000 });
    await byTestId('predict-start').click();
    const cell = $$('[data-testid="slide-row"]')[0]!.$('[data-testid="slide-prediction"]');
    await expect(cell).toHaveText(expect.stringMatching(/^(positive|negative) (0|1)\.\d\d$/), {
      wait: 120_000,
    });
    // Only the chosen slide was predicted.
    await expect($$('[data-testid="slide-row"]')[1]!.$('[data-testid="slide-prediction"]')).toHaveText('—');
  });

  it('shows the heatmap in the Viewer: toggle, opacity, value under the pointer, a top-k patch', async () => {
    await $$('[data-testid="slide-row"]')[0]!.$('[data-testid="slide-open"]').click();
    const viewer = byTestId('slide-viewer');
    await expect(viewer).toHaveAttribute('data-fully-loaded', 'true', { wait: 30_000 });
    await byTestId('toggle-heatmap').click();
    await expect(viewer).toHaveAttribute('data-heatmap', 'shown', { wait: 30_000 });
    await expect(byTestId('heatmap-probabilities')).toHaveText(expect.stringContaining('atypia:'));

    await browser.execute(() => {
      const slider = document.querySelector('[data-testid="heatmap-opacity"]') as HTMLInputElement;
      slider.value = '0.55';
      slider.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await expect(byTestId('heatmap-panel')).toHaveText(expect.stringContaining('Opacity 55%'));

    const patches = $$('[data-testid="heatmap-topk-patch"]');
    await expect(patches).toBeElementsArrayOfSize(8);
    const target = patches[2]!;
    const x = Number(await target.getAttribute('data-x'));
    const y = Number(await target.getAttribute('data-y'));
    await target.click();
    await expect(byTestId('heatmap-value')).toHaveText(expect.stringContaining('attention'));
    // The view settles on the patch (its centre within a patch's width of the view's centre).
    await browser.waitUntil(
      async () => {
        const [cx, cy] = ((await viewer.getAttribute('data-center')) ?? '0,0').split(',').map(Number);
        return Math.abs(cx! - x) < 80 && Math.abs(cy! - y) < 80;
      },
      { timeout: 10_000, timeoutMsg: 'the view did not move onto the top-k patch' },
    );
    await expect(viewer).toHaveAttribute('data-fully-loaded', 'true', { wait: 30_000 });
    for (let i = 0; i < 4; i++) await byTestId('zoom-out').click();
    await expect(viewer).toHaveAttribute('data-fully-loaded', 'true', { wait: 30_000 });
    fs.mkdirSync(screenshots, { recursive: true });
    await browser.saveScreenshot(path.join(screenshots, 'heatmap.png'));
    expect(violations).toEqual([]);
  });

  it('shows the patches the run trains on over the slide, with the tissue overlay, and hides them with G', async () => {
    const viewer = byTestId('slide-viewer');
    const overlay = byTestId('patch-overlay');
    await byTestId('toggle-heatmap').click();
    await expect(viewer).toHaveAttribute('data-heatmap', 'off');
    await byTestId('toggle-tissue').click();
    await expect(viewer).toHaveAttribute('data-tissue-overlay', 'shown', { wait: 30_000 });
    await byTestId('toggle-patches').click();
    await expect(byTestId('toggle-patches')).toHaveAttribute('aria-pressed', 'true');
    await expect(overlay).toHaveAttribute('data-state', 'shown', { wait: 30_000 });
    // The run's settings: the built-in micro model's 32 px patches at the default 0.5 µm/px.
    await expect(byTestId('patch-run')).toHaveText(expect.stringContaining('the latest run'));
    const n = Number(await overlay.getAttribute('data-patch-count'));
    expect(n).toBeGreaterThan(8);
    await expect(byTestId('patch-count')).toHaveText(
      `${n.toLocaleString('en-US')} patches at 0.5 µm/px, 32 px`,
    );
    // With the whole slide in view, every kept patch is outlined.
    await byTestId('zoom-fit').click();
    await expect(viewer).toHaveAttribute('data-fully-loaded', 'true', { wait: 30_000 });
    await expect(overlay).toHaveAttribute('data-outlined', String(n), { wait: 10_000 });
    fs.mkdirSync(screenshots, { recursive: true });
    await browser.saveScreenshot(path.join(screenshots, 'patches.png'));
    // G hides them and shows them again.
    await browser.keys(['g']);
    await expect(overlay).not.toBeExisting();
    await browser.keys(['g']);
    await expect(overlay).toHaveAttribute('data-patch-count', String(n), { wait: 30_000 });
    expect(violations).toEqual([]);
  });
});

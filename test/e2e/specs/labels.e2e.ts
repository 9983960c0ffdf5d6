/**
 * Labeling end to end in Chromium: six generated slides with TCGA names in a project made by the CLI,
 * labelled by keyboard in the Viewer (value keys, Tab, J, N), a reload that lands on the same slide and
 * view with the labels there, an undo, a bulk label by keyboard selection in the Library, a messy CSV
 * imported through its preview after fixing a column's mapping, a 5-fold split with its table, and Back
 * and Forward between views. Screenshots: labeling.png, csv-preview.png, split.png.
 */
import { browser, $, $$, expect } from '@wdio/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticSlide } from '../support/fixtures.ts';
import { closeProjectAndForget } from '../support/page.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const screenshots = path.join(repoRoot, 'test/e2e/screenshots');
const byTestId = (id: string) => $(`[data-testid="${id}"]`);
const viewer = () => byTestId('slide-viewer');
const task = (name: string) => $(`[data-testid="label-task"][data-task-name="${name}"]`);
const SLIDES = 6;
const names = Array.from({ length: SLIDES }, (_, i) => `TCGA-AB-000${i + 1}-01Z-00-DX1.tif`);

/** The value a row of the Library shows for the task in column `column` (0: the first task). */
async function rowLabels(column: number): Promise<string[]> {
  const rows = $$('[data-testid="slide-row"]');
  return rows.map(async (row) => {
    const cells = row.$$('[data-testid="slide-label"]');
    return (await cells[column]!.getText()).trim();
  });
}

async function waitSaved(taskName: string, value: string): Promise<void> {
  await expect(task(taskName)).toHaveAttribute('data-value', value);
  await expect(task(taskName)).toHaveAttribute('data-save-state', 'saved');
}

async function waitSlide(id: string): Promise<void> {
  await expect(viewer()).toHaveAttribute('data-slide-id', id);
  await expect(byTestId('label-panel')).toHaveAttribute('data-loaded', 'true');
}

describe('labels', () => {
  let work: string;
  let projectDir: string;
  let slides: string;
  let ids: string[] = [];
  const pageLog: { type: string; text: string }[] = [];

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-labels-'));
    projectDir = path.join(work, 'labels-project');
    slides = path.join(work, 'slides');
    const generated = writeSyntheticSlide(path.join(work, 'generated'));
    fs.mkdirSync(slides);
    // Copies with a few different trailing bytes: the same image, but each file its own fingerprint (size),
    // so relinking can tell them apart.
    for (const [i, name] of names.entries()) {
      fs.copyFileSync(generated, path.join(slides, name));
      fs.appendFileSync(path.join(slides, name), Buffer.alloc(i + 1));
    }
    const env = { ...process.env, TESSERA_USER_DATA: path.join(work, 'cli-user-data') };
    const tessera = (...args: string[]) =>
      execFileSync(process.execPath, [path.join(repoRoot, 'bin/tessera.js'), ...args], {
        env,
        stdio: 'pipe',
      });
    tessera('project', 'init', projectDir);
    tessera('import', projectDir, slides);
    tessera('tasks', 'add', projectDir, 'tumor', '--kind', 'binary');
    tessera('tasks', 'add', projectDir, 'subtype', '--kind', 'categorical', '--values', 'LUAD,LUSC,other');

    browser.on('log.entryAdded', (entry) => pageLog.push({ type: entry.type, text: entry.text ?? '' }));
    await browser.url(process.env.TESSERA_E2E_URL!);
    await byTestId('open-dir').setValue(projectDir);
    await browser.keys('Enter');
    await expect(byTestId('library-summary')).toHaveText(`${SLIDES} slides`);
    ids = await $$('[data-testid="slide-row"]').map(async (row) =>
      String(await row.getAttribute('data-slide-id')),
    );
    expect(ids).toHaveLength(SLIDES);
    fs.mkdirSync(screenshots, { recursive: true });
  });

  after(async () => {
    // Leave the start screen as the next spec expects it: no open project, no recent entry of ours.
    await closeProjectAndForget(projectDir);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('labels five slides by keyboard in the viewer', async () => {
    await $$('[data-testid="slide-row"]')[0]!.doubleClick();
    await waitSlide(ids[0]!);
    await expect(task('tumor')).toHaveAttribute('aria-current', 'true');

    // Slide 1: tumor yes (1); Tab to subtype, LUSC (2); Shift+Tab back to tumor.
    await browser.keys(['1']);
    await waitSaved('tumor', 'yes');
    await browser.keys(['Tab']);
    await expect(task('subtype')).toHaveAttribute('aria-current', 'true');
    await browser.keys(['2']);
    await waitSaved('subtype', 'LUSC');
    await browser.keys(['Shift', 'Tab']);
    await expect(task('tumor')).toHaveAttribute('aria-current', 'true');
    // Slides 2 to 5: J to the next one, then 0 or 1.
    const values = ['yes', 'no', 'yes', 'no', 'yes'];
    for (let i = 1; i < 5; i++) {
      await browser.keys(['j']);
      await waitSlide(ids[i]!);
      await expect(byTestId('slide-position')).toHaveText(`${i + 1} of ${SLIDES}`);
      await browser.keys([values[i] === 'yes' ? '1' : '0']);
      await waitSaved('tumor', values[i]!);
    }
    await expect(byTestId('undo-hint')).toHaveText(/set tumor = yes/i);
    // K goes back one; N jumps to the one slide of the list still without a tumor value.
    await browser.keys(['k']);
    await waitSlide(ids[3]!);
    await expect(task('tumor')).toHaveAttribute('data-value', 'no');
    await browser.keys(['n']);
    await waitSlide(ids[5]!);
    await expect(task('tumor')).toHaveAttribute('data-value', '');
    // Back on slide 5 for the screenshot, a step closer than fitted.
    await browser.keys(['k']);
    await waitSlide(ids[4]!);
    await expect(viewer()).toHaveAttribute('data-fully-loaded', 'true', { wait: 15_000 });
    const zoomOf = async () => new URL(await browser.getUrl()).hash.match(/zoom=([\d.]+)/)?.[1] ?? null;
    // The fitted view reaches the address first (it settles a moment after the slide opens).
    await browser.waitUntil(async () => (await zoomOf()) !== null, {
      timeout: 5000,
      timeoutMsg: 'the address never named the view',
    });
    const fitted = await zoomOf();
    await browser.keys(['+']);
    await browser.waitUntil(async () => ![null, fitted].includes(await zoomOf()), {
      timeout: 5000,
      timeoutMsg: 'the address did not take the zoomed view',
    });
    await expect(viewer()).toHaveAttribute('data-fully-loaded', 'true', { wait: 15_000 });
    await browser.saveScreenshot(path.join(screenshots, 'labeling.png'));
  });

  it('lands on the same slide and view after a reload, with the labels there; Ctrl+Z takes one back', async () => {
    const before = await browser.getUrl();
    const [x, y] = (await viewer().getAttribute('data-center'))!.split(',').map(Number);
    await browser.refresh();
    await waitSlide(ids[4]!);
    expect(await browser.getUrl()).toBe(before);
    await browser.waitUntil(
      async () => {
        const [x2, y2] = ((await viewer().getAttribute('data-center')) ?? '').split(',').map(Number);
        return Math.abs(x2! - x!) <= 2 && Math.abs(y2! - y!) <= 2;
      },
      { timeout: 5000, timeoutMsg: 'the reloaded view is not where the user was' },
    );
    await expect(task('tumor')).toHaveAttribute('data-value', 'yes');

    await byTestId('nav-library').click();
    await expect(byTestId('view-library')).toBeDisplayed();
    await browser.waitUntil(async () => (await rowLabels(0)).join(',') === 'yes,no,yes,no,yes,—', {
      timeout: 5000,
      timeoutMsg: `the Library does not show the five tumor labels: ${(await rowLabels(0)).join(',')}`,
    });
    expect(await rowLabels(1)).toEqual(['LUSC', '—', '—', '—', '—', '—']);
    // The newest change was slide 5's tumor = yes.
    await browser.keys(['Control', 'z']);
    await browser.waitUntil(async () => (await rowLabels(0)).join(',') === 'yes,no,yes,no,—,—', {
      timeout: 5000,
      timeoutMsg: 'Ctrl+Z did not take back the last label',
    });
    await expect(byTestId('notice')).toHaveText('Undone: set tumor = yes');
  });

  it('sets a value on a keyboard selection in the Library', async () => {
    const rows = $$('[data-testid="slide-row"]');
    await rows[3]!.$('[data-testid="slide-name"]').click();
    await browser.keys(['Shift', 'ArrowDown']);
    await browser.keys(['Shift', 'ArrowDown']);
    await expect(byTestId('selection-count')).toHaveText('3 slides selected');
    await byTestId('bulk-task').selectByVisibleText('subtype');
    await byTestId('bulk-value').selectByVisibleText('other');
    await byTestId('bulk-set').click();
    await browser.waitUntil(async () => (await rowLabels(1)).join(',') === 'LUSC,—,—,other,other,other', {
      timeout: 5000,
      timeoutMsg: 'the bulk value did not reach the three rows',
    });
    await browser.keys(['Escape']);
    await expect(byTestId('selection-count')).not.toBeExisting();
  });

  it('imports a messy CSV through its preview after fixing a mapping', async () => {
    // BOM, semicolons, CRLF, quoted cells, a spreadsheet's TRUE, a slide column and a task column named unlike
    // what they are, an unknown slide and a value the task does not allow.
    const csv = path.join(work, 'messy labels.csv');
    fs.writeFileSync(
      csv,
      '\ufeffSpecimen;Tumour;subtype;case_id\r\n' +
        `${names[0]!.replace('.tif', '')};yes;LUAD;TCGA-AB-0001\r\n` +
        `"${names[1]}";TRUE;"LUSC";TCGA-AB-0002\r\n` +
        `${names[4]!.replace('.tif', '')};no;squamous;TCGA-AB-0005\r\n` +
        'not-a-slide.svs;yes;LUAD;TCGA-ZZ-9999\r\n' +
        `${names[5]!.replace('.tif', '')};1;;TCGA-AB-0006\r\n`,
    );
    await byTestId('csv-open').click();
    await byTestId('csv-file').setValue(csv);
    await expect(byTestId('csv-summary')).toBeDisplayed({ wait: 10_000 });
    // No column has a name read as the slide: the preview still lists the columns to map one by hand.
    await expect(byTestId('csv-no-slide-column')).toBeDisplayed();
    await expect(byTestId('csv-apply')).toBeDisabled();
    await $(
      '[data-testid="csv-column"][data-column="Specimen"] [data-testid="csv-mapping"]',
    ).selectByVisibleText('Slide');
    await expect(byTestId('csv-no-slide-column')).not.toBeExisting();
    const tumour = $('[data-testid="csv-column"][data-column="Tumour"] [data-testid="csv-mapping"]');
    await expect(tumour).toHaveValue('ignore');
    await tumour.selectByVisibleText('tumor (binary)');
    // Slide 1: tumor yes unchanged, subtype LUSC → LUAD changed; slide 2: tumor no → yes changed, subtype
    // LUSC new; slide 5 is rejected (squamous); slide 6: tumor yes new. The unknown slide is rejected.
    await expect(byTestId('csv-changed')).toHaveText('2');
    await expect(byTestId('csv-new')).toHaveText('2');
    await expect(byTestId('csv-unchanged')).toHaveText('1');
    await expect(byTestId('csv-rejected-count')).toHaveText('2');
    await byTestId('csv-tab-rejected').click();
    const reasons = await $$('[data-testid="csv-rejected-row"]').map((r) => r.getText());
    expect(reasons).toHaveLength(2);
    expect(reasons.join('\n')).toContain('squamous');
    expect(reasons.join('\n')).toContain('not-a-slide.svs');
    await browser.saveScreenshot(path.join(screenshots, 'csv-preview.png'));
    // Nothing was written yet.
    expect((await rowLabels(0))[1]).toBe('no');
    await byTestId('csv-apply').click();
    await expect(byTestId('csv-dialog')).not.toBeExisting();
    await browser.waitUntil(async () => (await rowLabels(0)).join(',') === 'yes,yes,yes,no,—,yes', {
      timeout: 5000,
      timeoutMsg: `the import did not reach the table: ${(await rowLabels(0)).join(',')}`,
    });
    expect(await rowLabels(1)).toEqual(['LUAD', 'LUSC', '—', 'other', 'other', 'other']);
    const patients = await $$('[data-testid="slide-patient"]').map((c) => c.getText());
    expect(patients[0]).toBe('TCGA-AB-0001');
  });

  it('makes a 5-fold split and shows its table; Back and Forward move between views', async () => {
    await byTestId('nav-cohorts').click();
    await expect(byTestId('split-form')).toBeDisplayed();
    await byTestId('split-task').selectByVisibleText('tumor (binary)');
    await byTestId('split-folds').setValue('5');
    await byTestId('split-create').click();
    await expect(byTestId('split-table')).toBeDisplayed({ wait: 10_000 });
    await browser.saveScreenshot(path.join(screenshots, 'split.png'));
    const parts = $$('[data-testid="split-part"]');
    await expect(parts).toBeElementsArrayOfSize(5);
    expect(await parts.map((p) => p.getAttribute('data-part'))).toEqual([
      'fold-1',
      'fold-2',
      'fold-3',
      'fold-4',
      'fold-5',
    ]);
    // Five labelled slides (four yes, one no) in five folds: one each, so every fold lacks a class.
    await expect($$('[data-testid="split-zero"]')).toBeElementsArrayOfSize(5);
    expect((await $$('[data-testid="split-warning"]').map((w) => w.getText())).join(' ')).toMatch(/fold-\d/);
    expect(await browser.getUrl()).toMatch(/#\/cohorts\?split=\d+$/);

    await browser.back();
    await browser.back();
    await expect(byTestId('view-library')).toBeDisplayed();
    await browser.forward();
    await expect(byTestId('view-cohorts')).toBeDisplayed();
  });

  it('flags QC on a selection, assigns patients from file names, removes a slide and relinks moved ones', async () => {
    await byTestId('nav-library').click();
    await expect(byTestId('view-library')).toBeDisplayed();
    const row = (i: number) => $$('[data-testid="slide-row"]')[i]!;
    // QC: blur with a reason on slide 3.
    await row(2).$('[data-testid="slide-name"]').click();
    await byTestId('bulk-qc').click();
    await byTestId('qc-blur-set').click();
    await byTestId('qc-replace-reason').click();
    await byTestId('qc-reason').setValue('out of focus at the top');
    await byTestId('qc-apply').click();
    await expect(row(2).$('[data-testid="slide-qc"] [data-flag="blur"]')).toBeExisting();
    await expect(row(2).$('[data-testid="slide-qc"] span')).toHaveAttribute(
      'title',
      'Blur: out of focus at the top',
    );

    // Patients from the TCGA names, for the slides the CSV gave none.
    await byTestId('patients-open').click();
    await expect(byTestId('patients-summary')).toHaveText(/3 matched, 0 not matched, 3 would change/);
    await byTestId('patients-apply').click();
    await expect(byTestId('patients-dialog')).not.toBeExisting();
    await browser.waitUntil(
      async () =>
        (await $$('[data-testid="slide-patient"]').map((c) => c.getText())).join(',') ===
        names.map((n) => n.slice(0, 12)).join(','),
      { timeout: 5000, timeoutMsg: 'the patients did not reach the table' },
    );

    // Remove the last slide: the dialog says what goes.
    await row(5).$('[data-testid="slide-name"]').click();
    await byTestId('bulk-remove').click();
    await expect(byTestId('remove-dialog')).toHaveText(/cache files/);
    await byTestId('remove-confirm').click();
    await expect(byTestId('library-summary')).toHaveText(`${SLIDES - 1} slides`);
    await expect(byTestId('notice')).toHaveText(/^Removed 1 slide and [1-9]\d* cache files?$/);

    // Move two slide files; relink finds them by fingerprint in their new folder.
    const moved = path.join(work, 'moved');
    fs.mkdirSync(moved);
    for (const name of names.slice(0, 2)) fs.renameSync(path.join(slides, name), path.join(moved, name));
    await byTestId('relink-open').click();
    await expect(byTestId('relink-missing')).toHaveText(/^2 slides are not at their stored path/);
    await byTestId('relink-folder').setValue(moved);
    await byTestId('relink-find').click();
    await expect($$('[data-testid="relink-matched"]')).toBeElementsArrayOfSize(2);
    await byTestId('relink-apply').click();
    await expect(byTestId('notice')).toHaveText('Relinked 2 slides; 0 still missing');

    // Sort by QC (twice: most flags first), filter "no value for tumor", export.
    await byTestId('sort-qc').click();
    await byTestId('sort-qc').click();
    await expect(row(0).$('[data-testid="slide-name"]')).toHaveText(names[2]!);
    await byTestId('sort-name').click();
    await byTestId('filter-add').selectByVisibleText('tumor');
    await expect(byTestId('library-summary')).toHaveText(`1 of ${SLIDES - 1} slides`);
    expect(await browser.getUrl()).toContain('where=');
    await expect(row(0).$('[data-testid="slide-name"]')).toHaveText(names[4]!);
    await byTestId('filter-clear').click();
    await expect(byTestId('library-summary')).toHaveText(`${SLIDES - 1} slides`);
    await byTestId('csv-export').click();
    await expect(byTestId('notice')).toHaveText(`Exported the labels of ${SLIDES - 1} slides`);

    await row(0).doubleClick();
    await expect(viewer()).toHaveAttribute('data-fully-loaded', 'true', { wait: 15_000 });
  });

  it('creates a task, renames one of its values (relabelling its slides) and deletes it with its labels', async () => {
    await byTestId('nav-library').click();
    await byTestId('tasks-open').click();
    await byTestId('task-new').click();
    await byTestId('task-create-name').setValue('grade');
    await byTestId('task-create-categorical').click();
    await byTestId('task-create-values').setValue('G1, G2, G3');
    await byTestId('task-create-submit').click();
    await expect($$('[data-testid="task-value"]')).toBeElementsArrayOfSize(3);
    await browser.keys('Escape');
    await expect(byTestId('tasks-dialog')).not.toBeExisting();
    // The new task is a column; give slide 1 the value G3 from the selection bar.
    await $$('[data-testid="slide-row"]')[0]!.$('[data-testid="slide-name"]').click();
    await byTestId('bulk-task').selectByVisibleText('grade');
    await byTestId('bulk-value').selectByVisibleText('G3');
    await byTestId('bulk-set').click();
    await browser.waitUntil(async () => (await rowLabels(2))[0] === 'G3', {
      timeout: 5000,
      timeoutMsg: 'the grade column did not show G3',
    });
    await byTestId('tasks-open').click();
    await $('[data-testid="task-item"]*=grade').click();
    const g3 = $('[data-testid="task-value"][data-value="G3"] [data-testid="task-value-name"]');
    await g3.setValue('G3+');
    await browser.keys('Tab');
    await expect(byTestId('notice')).toHaveText('Renamed G3 to G3+ on 1 slide');
    await byTestId('task-delete').click();
    await expect(byTestId('task-delete-confirm')).toBeDisplayed();
    await expect(byTestId('task-editor')).toHaveText(
      /Delete grade and its 1 label\? This cannot be undone\./,
    );
    await byTestId('task-delete-confirm').click();
    await expect(byTestId('notice')).toHaveText('Deleted grade and 1 label');
    await browser.keys('Escape');
    await expect(
      $$('[data-testid="slide-row"]')[0]!.$$('[data-testid="slide-label"]'),
    ).toBeElementsArrayOfSize(2);
  });

  it('ran without script errors', () => {
    expect(pageLog.filter((e) => e.type === 'javascript')).toEqual([]);
  });
});

/**
 * Region annotations end to end in Chromium: in annotate mode (Shift+A) a polygon drawn by clicks and
 * Enter and a rectangle by a drag, the rectangle's class changed with a class key and the change undone
 * with Ctrl+Z, the hover card with the area in the slide's units, a reload that shows both shapes again,
 * and the slide's GeoJSON exported (a real download) and imported onto another slide. Screenshot:
 * annotations.png.
 */
import { browser, $, $$, expect } from '@wdio/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Transformer } from '@napi-rs/image';
import { Key } from 'webdriverio';
import { writeSyntheticSlide } from '../support/fixtures.ts';
import { closeProjectAndForget } from '../support/page.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const screenshots = path.join(repoRoot, 'test/e2e/screenshots');
const byTestId = (id: string) => $(`[data-testid="${id}"]`);
const viewer = () => byTestId('slide-viewer');
const layer = () => byTestId('annotation-layer');
const classCount = (name: string) =>
  $(`[data-testid="annotation-class"][data-class-name="${name}"] [data-testid="annotation-class-count"]`);

/** A click at (x, y) CSS pixels from the viewer's centre. */
async function clickAt(x: number, y: number): Promise<void> {
  await browser
    .action('pointer')
    .move({ origin: await viewer(), x, y })
    .down()
    .pause(30)
    .up()
    .perform();
}

async function dragFrom(from: [number, number], to: [number, number]): Promise<void> {
  const origin = await viewer();
  await browser
    .action('pointer')
    .move({ origin, x: from[0], y: from[1] })
    .down()
    .move({ origin, x: (from[0] + to[0]) / 2, y: (from[1] + to[1]) / 2, duration: 100 })
    .move({ origin, x: to[0], y: to[1], duration: 100 })
    .up()
    .perform();
}

async function shapeCount(n: number, message: string): Promise<void> {
  await expect(layer()).toHaveAttribute('data-shape-count', String(n), { message });
}

describe('annotations', () => {
  let work: string;
  let projectDir: string;
  const slideIds: string[] = [];

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-annotations-'));
    projectDir = path.join(work, 'annotations-project');
    const slides = path.join(work, 'slides');
    const generated = writeSyntheticSlide(path.join(work, 'generated'));
    fs.mkdirSync(slides);
    for (const [i, name] of ['case-1.tif', 'case-2.tif'].entries()) {
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

    await browser.url(process.env.TESSERA_E2E_URL!);
    await byTestId('open-dir').setValue(projectDir);
    await browser.keys('Enter');
    await expect(byTestId('library-summary')).toHaveText('2 slides');
    for (const row of await $$('[data-testid="slide-row"]').getElements())
      slideIds.push(String(await row.getAttribute('data-slide-id')));
    fs.mkdirSync(screenshots, { recursive: true });
  });

  after(async () => {
    await closeProjectAndForget(projectDir);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('draws a polygon and a rectangle, changes a class and undoes it', async () => {
    await $$('[data-testid="slide-row"]')[0]!.doubleClick();
    await expect(viewer()).toHaveAttribute('data-slide-id', slideIds[0]!);
    await expect(viewer()).toHaveAttribute('data-fully-loaded', 'true', { wait: 15_000 });
    await browser.keys(['Shift', 'a']);
    await expect(byTestId('annotation-panel')).toBeDisplayed();
    await expect(byTestId('label-panel')).not.toBeExisting();

    // Tumor (1) is the first class; a polygon of five clicks, closed with Enter.
    await browser.keys(['1']);
    await browser.keys(['p']);
    await expect(byTestId('tool-polygon')).toHaveAttribute('aria-checked', 'true');
    for (const [x, y] of [
      [-260, -120],
      [-120, -160],
      [-60, -20],
      [-150, 90],
      [-280, 40],
    ] as const) {
      await clickAt(x, y);
      await browser.pause(80);
    }
    await browser.keys(['Enter']);
    await shapeCount(1, 'the polygon was not saved');
    await expect(classCount('Tumor')).toHaveText('1');

    // A rectangle by a drag; it is selected once drawn, so 2 makes it Stroma.
    await browser.keys(['r']);
    await dragFrom([40, -100], [240, 80]);
    await shapeCount(2, 'the rectangle was not saved');
    await expect(classCount('Tumor')).toHaveText('2');
    await browser.keys(['2']);
    await expect(classCount('Stroma')).toHaveText('1');
    await expect(classCount('Tumor')).toHaveText('1');
    // Ctrl+Z takes the class change back (the shapes stay).
    await browser.keys(['Control', 'z']);
    await expect(classCount('Stroma')).toHaveText('0');
    await expect(classCount('Tumor')).toHaveText('2');
    await shapeCount(2, 'undoing the class change removed a shape');
    // And sets it again, for the export below.
    await browser.keys(['Control', 'Shift', 'z']);
    await expect(classCount('Stroma')).toHaveText('1');

    // Back to select; the pointer over the polygon shows its class and area (0.5 µm per pixel).
    await browser.keys(['Escape']);
    await browser.keys(['m']);
    await browser
      .action('pointer')
      .move({ origin: await viewer(), x: -160, y: -40 })
      .perform();
    const tip = byTestId('annotation-tooltip');
    await expect(tip).toBeDisplayed();
    await expect(tip).toHaveText(expect.stringContaining('Tumor'));
    await expect(tip).toHaveText(expect.stringMatching(/Area\s+[\d.,]+\s+(µm²|mm²)/));
    await expect(tip).toHaveText(expect.stringMatching(/Perimeter\s+[\d.,]+\s+(µm|mm)/));
    await browser.saveScreenshot(path.join(screenshots, 'annotations.png'));
  });

  it('shows both shapes after a reload', async () => {
    await browser.refresh();
    await expect(viewer()).toHaveAttribute('data-slide-id', slideIds[0]!);
    await shapeCount(2, 'the shapes were not there after a reload');
    await expect(layer()).toHaveAttribute('data-shapes-drawn', '2');
  });

  it('exports the GeoJSON and imports it onto the other slide', async () => {
    if (!(await byTestId('annotation-panel').isExisting())) await byTestId('toggle-annotate').click();
    const downloads = process.env.TESSERA_E2E_DOWNLOADS!;
    await byTestId('annotation-export').click();
    const file = path.join(downloads, 'case-1.geojson');
    await browser.waitUntil(() => fs.existsSync(file) && fs.statSync(file).size > 0, {
      timeout: 10_000,
      timeoutMsg: 'the GeoJSON was not downloaded',
    });
    const exported = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      type: string;
      features: { geometry: { type: string }; properties: { classification?: { name: string } } }[];
    };
    expect(exported.type).toBe('FeatureCollection');
    expect(exported.features.map((f) => f.properties.classification?.name).sort()).toEqual([
      'Stroma',
      'Tumor',
    ]);
    expect(exported.features.map((f) => f.geometry.type)).toEqual(['Polygon', 'Polygon']);

    await browser.keys(['j']);
    await expect(viewer()).toHaveAttribute('data-slide-id', slideIds[1]!);
    await shapeCount(0, 'the second slide already had shapes');
    // The Import… button opens the system's file picker on this hidden input; WebDriver fills it directly.
    const input = await byTestId('annotation-import-file');
    await browser.execute((el) => {
      (el as unknown as HTMLInputElement).style.display = 'block';
    }, input);
    await input.setValue(file);
    await expect(byTestId('annotation-import-result')).toHaveText(
      expect.stringContaining('2 shapes imported'),
    );
    await shapeCount(2, 'the imported shapes are not on the second slide');
    await expect(classCount('Stroma')).toHaveText('1');
  });

  it('edits on the second slide: select, move, vertex, merge, the other tools, delete, box-select, copy and paste', async () => {
    const selected = async () =>
      ((await layer().getAttribute('data-selected')) ?? '').split(',').filter(Boolean);
    const hint = byTestId('undo-hint');
    // The imported rectangle (Stroma) is on the right, the polygon (Tumor) on the left.
    await browser.keys(['m']);
    await clickAt(140, -10);
    await browser.waitUntil(async () => (await selected()).length === 1, {
      timeoutMsg: 'a click did not select',
    });
    const bounds = async () =>
      ((await layer().getAttribute('data-selection-bounds')) ?? '').split(',').map(Number);
    const [x0, y0, x1, y1] = await bounds();
    await dragFrom([140, -10], [180, 30]);
    await expect(hint).toHaveText(/edit 1 shape/i);
    const moved = await bounds();
    const dx = moved[0]! - x0!;
    expect(dx).toBeGreaterThan(10);
    expect(moved[1]! - y0!).toBeCloseTo(dx, -1);
    expect(moved[2]! - x1!).toBeCloseTo(dx, -1);
    expect(moved[3]! - y1!).toBeCloseTo(dx, -1);
    // Its bottom-right corner (240, 80) moved to (280, 120); dragging it edits that vertex only.
    await dragFrom([280, 120], [300, 160]);
    await browser.waitUntil(async () => (await bounds())[2]! > moved[2]! + 5, {
      timeoutMsg: 'dragging the corner did not move it',
    });
    const edited = await bounds();
    expect(edited.slice(0, 2)).toEqual(moved.slice(0, 2));
    expect(edited[3]!).toBeGreaterThan(moved[3]! + 5);
    // Ctrl+Z puts the corner back, Ctrl+Shift+Z moves it again.
    await browser.keys(['Control', 'z']);
    await browser.waitUntil(async () => (await bounds()).join() === moved.join(), {
      timeoutMsg: 'undo did not put the corner back',
    });
    await browser.keys(['Control', 'Shift', 'z']);
    await browser.waitUntil(async () => (await bounds()).join() === edited.join(), {
      timeoutMsg: 'redo did not move the corner again',
    });

    // Shift+click adds the polygon; 1 makes both Tumor, U merges them into one shape.
    await browser.action('key').down(Key.Shift).perform(true);
    await clickAt(-160, -40);
    await browser.action('key').up(Key.Shift).perform();
    await browser.waitUntil(async () => (await selected()).length === 2, {
      timeoutMsg: 'Shift+click did not add',
    });
    await browser.keys(['1']);
    await expect(classCount('Tumor')).toHaveText('2');
    await browser.keys(['u']);
    await shapeCount(1, 'merging did not make one shape of two');
    await expect(hint).toHaveText(/merge 2 shapes/i);
    await browser.keys(['Control', 'z']);
    await shapeCount(2, 'undoing the merge did not give both shapes back');

    // Ellipse, freehand, points and brush, each on empty slide below.
    await browser.keys(['Escape']);
    await browser.keys(['e']);
    await dragFrom([-300, 150], [-180, 220]);
    await shapeCount(3, 'the ellipse was not saved');
    await browser.keys(['f']);
    const origin = await viewer();
    await browser
      .action('pointer')
      .move({ origin, x: -120, y: 150 })
      .down()
      .move({ origin, x: -60, y: 140, duration: 50 })
      .move({ origin, x: -40, y: 200, duration: 50 })
      .move({ origin, x: -90, y: 230, duration: 50 })
      .move({ origin, x: -130, y: 200, duration: 50 })
      .up()
      .perform();
    await shapeCount(4, 'the freehand shape was not saved');
    await browser.keys(['.']);
    await clickAt(0, 180);
    await shapeCount(5, 'the point was not saved');
    await clickAt(20, 200);
    await shapeCount(5, 'a second point did not join the first');
    await browser.keys(['b']);
    await dragFrom([80, 190], [200, 200]);
    await shapeCount(6, 'the brush stroke was not saved');
    await expect(hint).toHaveText(expect.stringMatching(/brush|draw|paint/i));

    // Select the ellipse and delete it.
    await browser.keys(['m']);
    await clickAt(-240, 185);
    await browser.waitUntil(async () => (await selected()).length === 1, {
      timeoutMsg: 'the ellipse was not selected',
    });
    await browser.keys(['Delete']);
    await shapeCount(5, 'Delete did not remove the ellipse');
    await expect(hint).toHaveText(/delete 1 shape/i);

    // Shift+drag a box around everything (aimed from where the shapes are drawn, with a margin), copy, and
    // paste onto the first slide (which has 2).
    const [left, top, right, bottom] = ((await layer().getAttribute('data-shapes-on-screen')) ?? '')
      .split(',')
      .map(Number);
    const size = await layer().getSize();
    const fromCentre = (x: number, y: number): [number, number] => [
      Math.round(x - size.width / 2),
      Math.round(y - size.height / 2),
    ];
    const margin = 12;
    expect(left! - margin).toBeGreaterThan(0);
    expect(bottom! + margin).toBeLessThan(size.height);
    await browser.action('key').down(Key.Shift).perform(true);
    await dragFrom(fromCentre(left! - margin, top! - margin), fromCentre(right! + margin, bottom! + margin));
    await browser.action('key').up(Key.Shift).perform();
    await browser.waitUntil(async () => (await selected()).length === 5, {
      timeoutMsg: 'the box did not select the five shapes',
    });
    await browser.keys(['Control', 'c']);
    await browser.keys(['k']);
    await expect(viewer()).toHaveAttribute('data-slide-id', slideIds[0]!);
    await shapeCount(2, 'the first slide does not have its two shapes');
    await browser.keys(['Control', 'v']);
    await shapeCount(7, 'pasting did not add five shapes to the first slide');
    await expect(hint).toHaveText(/paste 5 shapes/i);
  });

  it('brightens the view with the display adjustments, the slide canvas only', async () => {
    const meanOfViewer = async (): Promise<number> => {
      const png = Buffer.from(await browser.takeScreenshot(), 'base64');
      const image = new Transformer(png);
      const { width, height } = await image.metadata();
      const rgba = await image.rawPixels();
      const channels = Math.round(rgba.length / (width * height));
      const rect = await browser.execute(() => {
        const r = document.querySelector('[data-testid="slide-viewer"]')!.getBoundingClientRect();
        return { x: r.x, y: r.y, w: r.width, h: r.height };
      });
      const scale = width / (await browser.execute(() => window.innerWidth));
      let sum = 0;
      let n = 0;
      for (let y = Math.round(rect.y * scale); y < Math.min(height, (rect.y + rect.h) * scale); y += 4)
        for (let x = Math.round(rect.x * scale); x < Math.min(width, (rect.x + rect.w) * scale); x += 4) {
          const i = (y * width + x) * channels;
          sum += rgba[i]! + rgba[i + 1]! + rgba[i + 2]!;
          n += 3;
        }
      return sum / n;
    };
    await browser.keys(['h']); // hide the shapes: only the slide's pixels
    const before = await meanOfViewer();
    await byTestId('toggle-display').click();
    await expect(byTestId('display-panel')).toBeDisplayed();
    const slider = await byTestId('display-brightness');
    await browser.execute((el) => {
      const input = el as unknown as HTMLInputElement;
      input.value = '0.3';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }, slider);
    const filters = async () =>
      browser.execute(() => ({
        slide: Array.from(
          document.querySelectorAll<HTMLCanvasElement>('[data-testid="slide-viewer"] canvas'),
        ).map((c) => c.style.filter),
        shapes: document.querySelector<HTMLCanvasElement>('[data-testid="annotation-canvas"]')!.style.filter,
      }));
    await browser.waitUntil(
      async () => (await filters()).slide.some((f) => f.includes('tessera-display-filter')),
      {
        timeoutMsg: 'the slide canvas did not take the display filter',
      },
    );
    expect((await filters()).shapes).toBe('');
    await byTestId('toggle-display').click();
    const after = await meanOfViewer();
    expect(after).toBeGreaterThan(before + 20);
    await browser.keys(['h']);
  });
});

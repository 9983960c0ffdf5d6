/**
 * The viewer's tissue overlay: `/tiles/<id>/tissue.png` in browser mode answers a PNG spanning the slide,
 * tissue tinted and glass clear where the painted truth says, detected once and then read from the
 * project's cache.
 */
import { Transformer } from '@napi-rs/image';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { importSlides } from '../../../src-main/project/import.js';
import { createProject } from '../../../src-main/project/project.js';
import { slideToolkit } from '../../../src-main/project/slide-toolkit.js';
import { startBrowserMode, type BrowserMode } from '../../../src-main/server/browser-mode.js';
import { tempDir } from '../../helpers/temp.js';
import { writePaintedSlide } from '../../unit/training/helpers.js';

let app: BrowserMode | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

describe('tissue overlay (browser mode)', () => {
  it('serves the mask as a PNG over the whole slide, kept in the project cache', async () => {
    const dir = path.join(tempDir(), 'p');
    const project = await createProject(dir);
    const slides = tempDir();
    const { painted } = writePaintedSlide(slides, 'overlay.svs', {
      seed: 5,
      width: 1600,
      height: 1280,
      pen: true,
    });
    await importSlides(project, slides, slideToolkit());
    project.close();
    app = await startBrowserMode({ userDataDir: tempDir(), projectDir: dir });
    const auth = { headers: { Authorization: `Bearer ${app.server.token}` } };
    const res = await fetch(`${app.server.url}/tiles/1/tissue.png`, auth);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const png = Buffer.from(await res.arrayBuffer());
    const meta = await new Transformer(png).metadata();
    // 16 level-0 pixels per overlay pixel (8 µm at 0.5 µm/px), exactly over the slide.
    expect([meta.width, meta.height]).toEqual([100, 80]);
    const rgba = await new Transformer(png).rawPixels();
    // Where the painting is surely glass or tissue (a whole 16 x 16 block of one kind), the overlay agrees.
    let agree = 0;
    let judged = 0;
    for (let j = 0; j < 80; j++) {
      for (let i = 0; i < 100; i++) {
        const kinds = new Set<number>();
        for (let y = j * 16; y < j * 16 + 16; y += 3)
          for (let x = i * 16; x < i * 16 + 16; x += 3) kinds.add(painted.truth[y * 1600 + x]!);
        if (kinds.size !== 1 || !(kinds.has(0) || kinds.has(1))) continue;
        judged++;
        const alpha = rgba[(j * 100 + i) * 4 + 3]!;
        if (kinds.has(1) === alpha > 0) agree++;
      }
    }
    expect(judged).toBeGreaterThan(4000);
    expect(agree / judged).toBeGreaterThan(0.95);
    const kept = fs.readdirSync(path.join(dir, 'cache', 'tissue'));
    expect(kept).toHaveLength(1);
    // Asked again: the same picture, from the kept mask.
    const again = Buffer.from(
      await (await fetch(`${app.server.url}/tiles/1/tissue.png`, auth)).arrayBuffer(),
    );
    expect(again.equals(png)).toBe(true);
    expect((await fetch(`${app.server.url}/tiles/2/tissue.png`, auth)).status).toBe(404);
    expect((await fetch(`${app.server.url}/tiles/1/tissue.png`)).status).toBe(401);
  });
});

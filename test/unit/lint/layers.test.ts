/**
 * The import boundaries of eslint.config.js, run through ESLint itself with the project's own config on
 * code strings placed at paths in the tree: an import that climbs a layer (or reaches a peer) fails,
 * one that goes down passes; the renderer reaches src-main only through src-main/contract/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/temp.js';

let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: repoRoot });
});

/** The rule ids and messages ESLint reports for `code` as if it were the file at `file` (from the root). */
async function problems(file: string, code: string): Promise<{ rule: string | null; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, file) });
  return result!.messages.map((m) => ({ rule: m.ruleId, message: m.message }));
}

async function layerProblems(file: string, code: string): Promise<string[]> {
  return (await problems(file, code)).filter((p) => p.rule === 'local/layer-order').map((p) => p.message);
}

describe('main-side layer order', () => {
  it('refuses an import that climbs a layer', async () => {
    const messages = await layerProblems(
      'src-main/project/labels.ts',
      "import type { AppSession } from '../app-state/session.js';\nexport type S = AppSession;\n",
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('src-main/project (layer 4) may only import from the layers below it');
    expect(messages[0]).toContain('not src-main/app-state');
  });

  it('lets a module import from the layers below and from its own folder', async () => {
    const code = [
      "import type { SlideSummary } from '../contract/contract.js';",
      "import type { Db } from '../db/connection.js';",
      "import { log } from '../log.js';",
      "import { getSlide } from './slides-repo.js';",
      'export const used: unknown[] = [log, getSlide];',
      'export type T = [SlideSummary, Db];',
      '',
    ].join('\n');
    expect(await layerProblems('src-main/project/labels.ts', code)).toEqual([]);
  });

  it('keeps the contract free of anything of ours', async () => {
    const messages = await layerProblems(
      'src-main/contract/contract.ts',
      "import { log } from '../log.js';\nexport const l = log;\n",
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('src-main/contract (layer 0)');
  });

  it('refuses a peer in the same layer, and re-exports and dynamic imports that climb', async () => {
    expect(
      await layerProblems(
        'src-main/slides/x.ts',
        "import { openDb } from '../db/connection.js';\nexport { openDb };\n",
      ),
    ).toHaveLength(1);
    expect(
      await layerProblems('src-main/server/x.ts', "export * from '../electron/menu.js';\n"),
    ).toHaveLength(1);
    expect(
      await layerProblems(
        'src-main/engine/x.ts',
        "export const load = () => import('../api/services.js');\n",
      ),
    ).toHaveLength(1);
  });

  it('refuses a folder that has no place in the order', async () => {
    const messages = await layerProblems('src-main/mystery/x.ts', 'export const x = 1;\n');
    expect(messages).toEqual([
      'src-main/mystery is not in the layer order: give it a place in `mainLayers` in eslint.config.js.',
    ]);
  });

  it('names every folder and top-level file of src-main', async () => {
    const { mainLayers } = (await import(path.join(repoRoot, 'eslint.config.js'))) as {
      mainLayers: string[][];
    };
    const placed = new Set(mainLayers.flat());
    const present = fs
      .readdirSync(path.join(repoRoot, 'src-main'), { withFileTypes: true })
      .map((e) => e.name)
      .filter((name) => !name.startsWith('.'));
    expect(present.filter((name) => !placed.has(name))).toEqual([]);
  });
});

describe('renderer boundary', () => {
  it('reaches src-main only through src-main/contract/', async () => {
    const messages = (
      await problems(
        'src-renderer/lib/x.ts',
        "import type { SlideImages } from '../../src-main/viewer-pixels/slide-images.js';\nexport type S = SlideImages;\n",
      )
    ).map((p) => p.message);
    expect(messages).toEqual([
      expect.stringContaining('The renderer may import only from src-main/contract/'),
    ]);
  });

  it('takes the contract as types only, and the URL module as code', async () => {
    const ok = [
      "import type { SlideDetail } from '../../src-main/contract/contract.js';",
      "import { createSlideImageUrls } from '../../src-main/contract/slide-image-urls.js';",
      'export const f = createSlideImageUrls;',
      'export type D = SlideDetail;',
      '',
    ].join('\n');
    expect(await problems('src-renderer/lib/x.ts', ok)).toEqual([]);
    const schemas = await problems(
      'src-renderer/lib/x.ts',
      "import { commandInputs } from '../../src-main/contract/contract.js';\nexport const c = commandInputs;\n",
    );
    expect(schemas.map((p) => p.message)).toEqual([expect.stringContaining('`import type` only')]);
  });

  it('keeps native modules and electron out of the renderer', async () => {
    const messages = await problems(
      'src-renderer/lib/x.ts',
      "import Database from 'better-sqlite3';\nimport { ipcRenderer } from 'electron';\nexport const d = [Database, ipcRenderer];\n",
    );
    expect(messages).toHaveLength(2);
  });
});

describe('electron boundary', () => {
  it('lets only src-main/electron/ import electron', async () => {
    const code = "import { app } from 'electron';\nexport const a = app;\n";
    expect((await problems('src-main/server/x.ts', code)).map((p) => p.message)).toEqual([
      expect.stringContaining('Only src-main/electron/ may import electron.'),
    ]);
    expect(await problems('src-main/electron/x.ts', code)).toEqual([]);
  });
});

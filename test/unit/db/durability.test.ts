/**
 * Crash safety of what Tessera writes, tested by killing (SIGKILL: no handler, no cleanup) a child that
 * runs the real write path, then reopening the project: SQLite's integrity check passes and every write
 * the child had acknowledged is there.
 *
 * Covered: slide import (`tessera import`: each slide's row in its own transaction, then its thumbnail).
 * TODO(labels): when labels can be written (today only the schema exists, no service writes them), kill
 * -9 a child writing labels through the real label path the same way, and check every acknowledged label
 * and its label_history row.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importSlides, thumbnailPath } from '../../../src-main/project/import.js';
import { createProject, openProject } from '../../../src-main/project/project.js';
import { slideToolkit } from '../../../src-main/project/slide-toolkit.js';
import { hasVips, makePyramidalTiff } from '../../helpers/slides.js';
import { repoRoot, tempDir } from '../../helpers/temp.js';

const SLIDES = 60;

/** A folder of SLIDES small generated pyramidal TIFFs (copies of one; each is its own slide by path). */
function slideFolder(): string {
  const folder = path.join(tempDir(), 'slides');
  fs.mkdirSync(folder);
  const first = makePyramidalTiff(path.join(folder, 's000.tif'), 1600, 1200);
  for (let i = 1; i < SLIDES; i++)
    fs.copyFileSync(first, path.join(folder, `s${String(i).padStart(3, '0')}.tif`));
  return folder;
}

/**
 * Runs the import in a child and SIGKILLs it once `killAfter` slides are acknowledged. The CLI reports
 * `[k/N] file` when it starts file k, after slides 1..k-1 were committed with their thumbnails: those
 * are the acknowledged ones.
 */
async function importAndKill(projectDir: string, folder: string, killAfter: number): Promise<string[]> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'test', 'unit', 'db', 'import-child.ts'), projectDir, folder],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TESSERA_LOG: 'error' } },
  );
  const started: string[] = [];
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stderr.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = /^\[(\d+)\/\d+\] (.+)$/.exec(line);
        if (!m) continue;
        started.push(path.join(folder, m[2]!));
        if (started.length - 1 >= killAfter && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve();
        }
      }
    });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`the import ended by itself (${code}) before the kill`));
    });
  });
  await new Promise((r) => child.on('close', r));
  expect(child.signalCode).toBe('SIGKILL');
  return started.slice(0, -1);
}

describe.skipIf(!hasVips())('durability', () => {
  it('an import killed with SIGKILL keeps every acknowledged slide, and a fresh import completes it', async () => {
    const folder = slideFolder();
    const dir = path.join(tempDir(), 'project');
    (await createProject(dir)).close();

    // Two kills at different points of the run, the second resuming what the first left.
    for (const killAfter of [7, 23]) {
      const acknowledged = await importAndKill(dir, folder, killAfter);
      expect(acknowledged.length).toBeGreaterThanOrEqual(killAfter);

      const project = await openProject(dir);
      try {
        expect(project.db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(project.db.pragma('foreign_key_check')).toEqual([]);
        const rows = project.db.prepare('SELECT id, path, fingerprint FROM slides').all() as {
          id: number;
          path: string;
          fingerprint: string | null;
        }[];
        const byPath = new Map(rows.map((r) => [r.path, r]));
        for (const file of acknowledged) {
          const row = byPath.get(file);
          expect(row, `${file} was acknowledged`).toBeDefined();
          expect(row!.fingerprint).toMatch(/\S/);
          expect(fs.statSync(thumbnailPath(project, row!.id)).size).toBeGreaterThan(0);
        }
      } finally {
        project.close();
      }
    }

    const project = await openProject(dir);
    try {
      const summary = await importSlides(project, folder, slideToolkit());
      expect(summary).toMatchObject({ total: SLIDES, errors: [], state: 'finished' });
      expect(project.db.prepare('SELECT count(*) AS n FROM slides').get()).toEqual({ n: SLIDES });
      expect(project.db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      project.close();
    }
  });
});

/**
 * Durability of annotation edits: the real `tessera serve` in a child process takes a burst of shapes
 * drawn, re-classed and moved over HTTP and is killed with SIGKILL in the middle. Every edit it
 * acknowledged must be in the database with the geometry it was given, every shape must have its box in
 * the R*Tree (and no box be left without its shape), and the file must pass SQLite's integrity check.
 * Needs the built CLI (`npm run build`; npm test builds first).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { AnnotationEditResult } from '../../src-main/contract/contract.js';
import { decodeGeometry } from '../../src-main/project/wkb.js';
import { httpApi } from '../helpers/api-http.js';
import { spawnBuiltCli, waitForLine } from '../helpers/cli.js';
import { fakeLibrary } from '../helpers/library.js';
import { tempDir } from '../helpers/temp.js';

const EDITS = 1200;
const IN_FLIGHT = 8;

function square(i: number, dx = 0) {
  const x = (i % 40) * 100 + dx;
  const y = Math.floor(i / 40) * 100;
  return {
    type: 'Polygon' as const,
    coordinates: [
      [
        [x, y],
        [x + 50, y],
        [x + 50, y + 50],
        [x, y + 50],
        [x, y],
      ],
    ],
  };
}

describe('annotation edits under SIGKILL', () => {
  it('lose no acknowledged edit and keep every shape in the spatial index', async () => {
    const dir = tempDir();
    const { project, ids } = await fakeLibrary(dir, ['a.svs', 'b.svs']);
    project.close();
    const slideId = ids[0]!;

    const child = spawnBuiltCli(['serve', dir], { TESSERA_USER_DATA: tempDir() });
    const line = await waitForLine(child, /http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    const api = httpApi(line.trim());
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );

    // Edit i draws shape "s{i}"; once drawn, every third is moved 7 px right by a second edit.
    const drawn = new Map<number, number>(); // i → annotation id, acknowledged
    const moved = new Set<number>(); // acknowledged moves
    const killAfter = 300 + Math.floor(Math.random() * 400);
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (next < EDITS && !killed) {
        const i = next++;
        try {
          const result = await api.call<AnnotationEditResult>('annotations.edit', {
            slideId,
            create: [{ geometry: square(i), classId: null, shape: 'polygon', name: `s${i}` }],
          });
          const id = result.annotations[0]!.id;
          drawn.set(i, id);
          if (i % 3 === 0) {
            await api.call('annotations.edit', { slideId, update: [{ id, geometry: square(i, 7) }] });
            moved.add(i);
          }
          if (drawn.size >= killAfter && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
        } catch {
          // Refused or cut off by the kill: not acknowledged.
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    api.close();
    expect(await exited).toBe('SIGKILL');
    expect(drawn.size).toBeGreaterThanOrEqual(killAfter);
    expect(drawn.size).toBeLessThan(EDITS);

    const db = new Database(`${dir}/project.sqlite`, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const rows = db.prepare('SELECT id, name, geometry FROM annotations WHERE slide_id = ?').all(slideId) as {
      id: number;
      name: string;
      geometry: Buffer;
    }[];
    const byName = new Map(rows.map((r) => [r.name, r]));
    for (const [i, id] of drawn) {
      const row = byName.get(`s${i}`);
      expect(row?.id, `shape s${i}`).toBe(id);
      const x0 = (decodeGeometry(row!.geometry).coordinates as number[][][])[0]![0]![0];
      if (moved.has(i)) expect(x0, `move of s${i}`).toBe((i % 40) * 100 + 7);
      else expect([(i % 40) * 100, (i % 40) * 100 + 7], `s${i}`).toContain(x0);
    }
    // The R*Tree holds exactly the shapes, each with its box.
    const boxes = db.prepare('SELECT id, min_x AS minX, max_x AS maxX FROM annotation_bounds').all() as {
      id: number;
      minX: number;
      maxX: number;
    }[];
    expect(boxes.map((b) => b.id).sort((a, b) => a - b)).toEqual(
      (db.prepare('SELECT id FROM annotations ORDER BY id').all() as { id: number }[]).map((r) => r.id),
    );
    for (const r of rows) {
      const x0 = (decodeGeometry(r.geometry).coordinates as number[][][])[0]![0]![0]!;
      const box = boxes.find((b) => b.id === r.id)!;
      expect([box.minX, box.maxX], `box of ${r.name}`).toEqual([x0, x0 + 50]);
    }
    db.close();
  });
});

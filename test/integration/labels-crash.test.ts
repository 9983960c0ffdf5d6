/**
 * Durability of label writes: the real `tessera serve` in a child process takes a burst of 1,000
 * labels.set calls over HTTP and is killed with SIGKILL in the middle. Every write it acknowledged must be
 * in the database, the label history must replay to exactly the labels, and the file must pass SQLite's
 * integrity check. Needs the built CLI (`npm run build`; npm test builds first).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createTask } from '../../src-main/project/tasks.js';
import { spawnBuiltCli, waitForLine } from '../helpers/cli.js';
import { httpApi } from '../helpers/api-http.js';
import { fakeLibrary, tcgaNames } from '../helpers/library.js';
import { tempDir } from '../helpers/temp.js';

const SLIDES = 500;
const WRITES = 1000;
const IN_FLIGHT = 8;

describe('label writes under SIGKILL', () => {
  it('lose no acknowledged write and leave the history consistent with the labels', async () => {
    const dir = tempDir();
    const { project, ids } = await fakeLibrary(dir, tcgaNames(SLIDES));
    const task = createTask(project.db, { name: 'tumor', kind: 'binary' });
    project.close();

    const child = spawnBuiltCli(['serve', dir], { TESSERA_USER_DATA: tempDir() });
    const line = await waitForLine(child, /http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    const api = httpApi(line.trim());
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );

    // Write i goes to slide i mod 500: "yes" the first time round, "no" the second; a slide's two writes
    // are 500 apart, so never in flight together.
    const value = (i: number) => (i < SLIDES ? 'yes' : 'no');
    const acked = new Set<number>();
    const sent = new Set<number>();
    const killAfter = 300 + Math.floor(Math.random() * 500);
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (next < WRITES && !killed) {
        const i = next++;
        sent.add(i);
        try {
          await api.call('labels.set', { slideId: ids[i % SLIDES], taskId: task.id, value: value(i) });
          acked.add(i);
          if (acked.size >= killAfter && !killed) {
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
    expect(acked.size).toBeGreaterThanOrEqual(killAfter);
    expect(acked.size).toBeLessThan(WRITES);

    const db = new Database(`${dir}/project.sqlite`);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const labels = new Map(
      (
        db.prepare('SELECT slide_id AS s, value AS v FROM labels WHERE task_id = ?').all(task.id) as {
          s: number;
          v: string;
        }[]
      ).map((r) => [r.s, r.v]),
    );
    for (let s = 0; s < SLIDES; s++) {
      const stored = labels.get(ids[s]!) ?? null;
      if (acked.has(s + SLIDES)) expect(stored, `slide ${s}`).toBe('no');
      else if (acked.has(s))
        expect(['yes', sent.has(s + SLIDES) ? 'no' : 'yes'], `slide ${s}`).toContain(stored);
      else expect([null, 'yes', 'no'], `slide ${s}`).toContain(stored);
    }
    // Replaying the history gives the labels exactly.
    const replay = new Map<number, string | null>();
    for (const h of db
      .prepare('SELECT slide_id AS s, old_value AS o, new_value AS n FROM label_history ORDER BY id')
      .all() as {
      s: number;
      o: string | null;
      n: string | null;
    }[]) {
      expect(h.o, `history of slide ${h.s}`).toBe(replay.get(h.s) ?? null);
      replay.set(h.s, h.n);
    }
    for (const [s, v] of labels) expect(replay.get(s)).toBe(v);
    for (const [s, v] of replay) expect(labels.get(s) ?? null).toBe(v);
    db.close();
  });
});

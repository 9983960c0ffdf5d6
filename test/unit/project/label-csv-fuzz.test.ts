/**
 * Seeded fuzzing of the label CSV path users hand us: malformed quoting, huge fields, binary junk, stray
 * delimiters. Whatever the input, reading and planning never throw anything but a sentence, and every
 * row is either taken or rejected with one sentence naming its line.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src-main/contract/errors.js';
import { planCsvImport } from '../../../src-main/project/label-csv-plan.js';
import { MAX_ROW_BYTES, readCsvText } from '../../../src-main/project/label-csv-read.js';
import { seededRandom } from '../../../src-main/project/split-plan.js';
import { completeValues } from '../../../src-main/project/task-values.js';
import type { Task } from '../../../src-main/contract/contract.js';

const tasks: Task[] = [
  {
    id: 1,
    name: 'tumor',
    kind: 'binary',
    description: null,
    values: completeValues('binary', undefined),
    min: null,
    max: null,
    labelCount: 0,
    valueCounts: {},
    createdAt: '',
  },
];
const slides = Array.from({ length: 20 }, (_, i) => ({
  id: i + 1,
  name: `s${i}.svs`,
  path: `/x/s${i}.svs`,
  patient: null,
}));
const PIECES = [
  's1.svs',
  's2.svs',
  'yes',
  'no',
  'TRUE',
  '"',
  '""',
  ',',
  ';',
  '\t',
  '\n',
  '\r\n',
  '\r',
  ' ',
  'é',
  '\u0000',
  '\ufffd',
  'x',
];

function junk(random: () => number, huge: boolean): string {
  const lines = ['patient,slide,tumor'];
  const n = 1 + Math.floor(random() * 40);
  for (let i = 0; i < n; i++) {
    const r = random();
    if (huge && i === 0) lines.push(`s1.svs,"${'x'.repeat(MAX_ROW_BYTES + Math.floor(random() * 1000))}`);
    else if (r < 0.15)
      lines.push(
        String.fromCharCode(
          ...Array.from({ length: 1 + Math.floor(random() * 60) }, () => Math.floor(random() * 256)),
        ),
      );
    else {
      let line = '';
      const parts = 1 + Math.floor(random() * 8);
      for (let p = 0; p < parts; p++) line += PIECES[Math.floor(random() * PIECES.length)];
      lines.push(line);
    }
  }
  return lines.join(random() < 0.5 ? '\n' : '\r\n');
}

describe('label CSV fuzz', () => {
  it('never crashes, and gives every bad row one sentence with its line (300 seeded files)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      // Every 30th file starts with a field over the row limit (an unclosed quote swallowing the file).
      const text = junk(seededRandom(seed), seed % 30 === 0);
      let table;
      try {
        table = readCsvText(text, 'fuzz.csv');
      } catch (err) {
        expect(err, `seed ${seed}`).toBeInstanceOf(ApiError);
        continue;
      }
      const plan = planCsvImport(table, { tasks, slides, labels: () => new Map() }, { createTasks: false });
      if (seed % 30 === 0) expect(plan.rejected[0]?.reason).toBe('Line 2: the row is longer than 1 MB.');
      const lines = text.replace(/\r\n?/g, '\n').split('\n').length;
      for (const r of plan.rejected) {
        expect(r.reason, `seed ${seed}`).toMatch(/^Line \d+[ :].+\.$/);
        expect(r.reason.split('\n')).toHaveLength(1);
        expect(r.line).toBeGreaterThanOrEqual(2);
        expect(r.line).toBeLessThanOrEqual(lines);
        expect(r.reason.length).toBeLessThan(600);
      }
      // Every row read is either taken (a change) or rejected; nothing is silently lost.
      const taken = new Set(plan.changes.map((c) => c.line));
      const rejected = new Set(plan.rejected.map((r) => r.line));
      for (const row of table.rows) {
        const hasValue = (row.cells[2] ?? '') !== '';
        if (hasValue)
          expect(taken.has(row.line) || rejected.has(row.line), `seed ${seed} line ${row.line}`).toBe(true);
      }
    }
  });
});

import { describe, expect, it } from 'vitest';
import {
  completeValues,
  inferTask,
  parseNumber,
  readTaskValue,
} from '../../../src-main/project/task-values.js';

const binary = {
  name: 'tumor',
  kind: 'binary' as const,
  values: completeValues('binary', undefined),
  min: null,
  max: null,
};
const subtype = {
  name: 'subtype',
  kind: 'categorical' as const,
  values: completeValues('categorical', [{ name: 'LUAD' }, { name: 'LUSC' }]),
  min: null,
  max: null,
};
const purity = { name: 'purity', kind: 'continuous' as const, values: [], min: 0, max: 1 };

describe('task values', () => {
  it("reads a spreadsheet's booleans for a binary task and nothing else", () => {
    for (const t of ['TRUE', 'true', '1', 'yes', 'Y', 'Yes'])
      expect(readTaskValue(binary, t)).toEqual({ ok: true, value: 'yes' });
    for (const f of ['FALSE', 'false', '0', 'no', 'N'])
      expect(readTaskValue(binary, f)).toEqual({ ok: true, value: 'no' });
    expect(readTaskValue(binary, '')).toEqual({ ok: true, value: null });
    expect(readTaskValue(binary, '  ')).toEqual({ ok: true, value: null });
    expect(readTaskValue(binary, 'maybe')).toEqual({
      ok: false,
      reason: '"maybe" is not a value of task tumor (no, yes)',
    });
  });

  it('matches categorical values ignoring case and stores the defined spelling', () => {
    expect(readTaskValue(subtype, 'luad')).toEqual({ ok: true, value: 'LUAD' });
    expect(readTaskValue(subtype, 'TRUE')).toMatchObject({ ok: false });
  });

  it('reads numbers for a continuous task, with a decimal comma, within its bounds', () => {
    expect(readTaskValue(purity, '0.5')).toEqual({ ok: true, value: '0.5' });
    expect(readTaskValue(purity, '0,25')).toEqual({ ok: true, value: '0.25' });
    expect(readTaskValue(purity, 0.75)).toEqual({ ok: true, value: '0.75' });
    expect(readTaskValue(purity, '1.5')).toEqual({
      ok: false,
      reason: '1.5 is above the maximum 1 of task purity',
    });
    expect(readTaskValue(purity, 'high')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not a number/),
    });
    expect(parseNumber('1e3')).toBe(1000);
    expect(parseNumber('12abc')).toBeNull();
  });

  it('gives new values colours and keys, and refuses duplicates and a binary task without two values', () => {
    expect(completeValues('binary', undefined)).toEqual([
      { name: 'no', color: '#4e79a7', key: '0' },
      { name: 'yes', color: '#e15759', key: '1' },
    ]);
    expect(completeValues('categorical', [{ name: 'a' }, { name: 'b', key: 'x' }]).map((v) => v.key)).toEqual(
      ['1', 'x'],
    );
    expect(() => completeValues('categorical', [{ name: 'A' }, { name: 'a' }])).toThrow(/listed twice/);
    expect(() => completeValues('binary', [{ name: 'a' }])).toThrow(/exactly two/);
  });

  it('infers a task from a column: booleans and two values binary, numbers continuous, else categorical', () => {
    expect(inferTask(['TRUE', 'FALSE', 'TRUE'])).toEqual({ kind: 'binary', values: ['FALSE', 'TRUE'] });
    expect(inferTask(['1', '0'])).toEqual({ kind: 'binary', values: ['0', '1'] });
    expect(inferTask(['yes'])).toEqual({ kind: 'binary', values: ['no', 'yes'] });
    expect(inferTask(['LUSC', 'LUAD'])).toEqual({ kind: 'binary', values: ['LUAD', 'LUSC'] });
    expect(inferTask(['G1', 'G3', 'G2'])).toEqual({ kind: 'categorical', values: ['G1', 'G2', 'G3'] });
    expect(inferTask(['3', '1', '2', '10'])).toEqual({ kind: 'categorical', values: ['1', '2', '3', '10'] });
    expect(inferTask(['0.1', '0.5', '0.93'])).toEqual({ kind: 'continuous', values: [] });
  });
});

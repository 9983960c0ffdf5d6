/**
 * What a task accepts: reading a typed or imported value into the stored form, the defaults a new task's
 * values get (colour, keyboard key), and guessing a task's kind from a CSV column. Pure: no database.
 */
import type { Task, TaskKind, TaskValue } from '../contract/contract.js';

/** Tableau 10: distinct on a dark table, and familiar to the field's plotting tools. */
export const VALUE_PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

export const DEFAULT_BINARY_VALUES = ['no', 'yes'];

/** A spreadsheet's ways of writing a boolean, lower case. */
const TRUE_WORDS = new Set(['true', 't', 'yes', 'y', '1', 'positive', 'pos']);
const FALSE_WORDS = new Set(['false', 'f', 'no', 'n', '0', 'negative', 'neg']);

const OPPOSITES: Record<string, string> = {
  true: 'false',
  t: 'f',
  yes: 'no',
  y: 'n',
  '1': '0',
  positive: 'negative',
  pos: 'neg',
};

/** "TRUE" → "FALSE", "yes" → "no", "1" → "0" (and back), keeping upper case. */
function oppositeWord(word: string): string {
  const w = word.toLowerCase();
  const other = OPPOSITES[w] ?? Object.entries(OPPOSITES).find(([, f]) => f === w)?.[0] ?? 'other';
  return word === word.toUpperCase() ? other.toUpperCase() : other;
}

export function booleanWord(raw: string): boolean | null {
  const w = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(w)) return true;
  if (FALSE_WORDS.has(w)) return false;
  return null;
}

/** The key a value gets when none is given: binary 0 and 1; categorical 1..9, 0, then none. */
export function defaultKey(kind: TaskKind, position: number): string | null {
  if (kind === 'binary') return position === 0 ? '0' : '1';
  if (position < 9) return String(position + 1);
  return position === 9 ? '0' : null;
}

export function defaultColor(kind: TaskKind, position: number): string {
  if (kind === 'binary') return position === 0 ? VALUE_PALETTE[0]! : VALUE_PALETTE[2]!;
  return VALUE_PALETTE[position % VALUE_PALETTE.length]!;
}

/** A number as a user would write it: "3.5", "-2", "1e3", or with a decimal comma ("3,5"). */
export function parseNumber(raw: string): number | null {
  const t = raw.trim();
  if (!t) return null;
  const s = /^[-+]?\d+,\d+$/.test(t) ? t.replace(',', '.') : t;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

type TaskShape = Pick<Task, 'name' | 'kind' | 'values' | 'min' | 'max'>;

export type ValueReading = { ok: true; value: string | null } | { ok: false; reason: string };

/**
 * Reads what a user typed or a CSV cell holds into the value stored for the task: null (no value) for
 * empty; a value's exact name for binary and categorical (matched ignoring case; a binary task also takes
 * TRUE/1/yes for its second value and FALSE/0/no for its first); a canonical number for continuous.
 */
export function readTaskValue(task: TaskShape, input: string | number | boolean | null): ValueReading {
  if (input === null) return { ok: true, value: null };
  if (typeof input === 'boolean') {
    if (task.kind === 'binary' && task.values.length === 2)
      return { ok: true, value: task.values[input ? 1 : 0]!.name };
    return { ok: false, reason: `${input} is not a value of task ${task.name} (it is ${task.kind})` };
  }
  const raw = input;
  if (task.kind === 'continuous') {
    const n = typeof raw === 'number' ? raw : parseNumber(raw);
    if (typeof raw === 'string' && !raw.trim()) return { ok: true, value: null };
    if (n === null || !Number.isFinite(n))
      return {
        ok: false,
        reason: `"${clip(String(raw))}" is not a number (task ${task.name} is continuous)`,
      };
    if (task.min !== null && n < task.min)
      return { ok: false, reason: `${n} is below the minimum ${task.min} of task ${task.name}` };
    if (task.max !== null && n > task.max)
      return { ok: false, reason: `${n} is above the maximum ${task.max} of task ${task.name}` };
    return { ok: true, value: String(n) };
  }
  const text = String(raw).trim();
  if (!text) return { ok: true, value: null };
  const exact = task.values.find((v) => v.name === text);
  if (exact) return { ok: true, value: exact.name };
  const lower = text.toLowerCase();
  const folded = task.values.find((v) => v.name.toLowerCase() === lower);
  if (folded) return { ok: true, value: folded.name };
  if (task.kind === 'binary' && task.values.length === 2) {
    const b = booleanWord(text);
    if (b !== null) return { ok: true, value: task.values[b ? 1 : 0]!.name };
  }
  return {
    ok: false,
    reason: `"${clip(text)}" is not a value of task ${task.name} (${task.values.map((v) => v.name).join(', ') || 'it has no values'})`,
  };
}

function clip(s: string, max = 60): string {
  // eslint-disable-next-line no-control-regex
  const printable = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}

/** Values for a new task, filling in colours and keys, refusing duplicates (ignoring case) and clashing keys. */
export function completeValues(
  kind: TaskKind,
  given: { name: string; color?: string; key?: string | null }[] | undefined,
): TaskValue[] {
  if (kind === 'continuous') {
    if (given?.length) throw new Error('a continuous task has no list of values (give min and max instead)');
    return [];
  }
  const list: { name: string; color?: string; key?: string | null }[] = given?.length
    ? given
    : kind === 'binary'
      ? DEFAULT_BINARY_VALUES.map((name) => ({ name }))
      : [];
  if (kind === 'binary' && list.length !== 2)
    throw new Error(`a binary task has exactly two values, got ${list.length}`);
  const values = list.map((v, i) => ({
    name: v.name.trim(),
    color: v.color ?? defaultColor(kind, i),
    key: v.key === undefined ? defaultKey(kind, i) : v.key,
  }));
  assertDistinct(values);
  return values;
}

export function assertDistinct(values: TaskValue[]): void {
  const names = new Set<string>();
  const keys = new Set<string>();
  for (const v of values) {
    const n = v.name.toLowerCase();
    if (names.has(n)) throw new Error(`the value "${v.name}" is listed twice`);
    names.add(n);
    if (v.key !== null) {
      const k = v.key.toLowerCase();
      if (keys.has(k)) throw new Error(`the key "${v.key}" is given to two values`);
      keys.add(k);
    }
  }
}

export interface InferredTask {
  kind: TaskKind;
  values: string[];
}

/**
 * The kind of task a CSV column describes (its distinct non-empty values): booleans or any two values
 * make a binary task (the false-like or alphabetically first value first); numbers with more than 2
 * distinct values, some fractional or more than 20 of them, a continuous task; anything else categorical.
 */
export function inferTask(distinct: string[]): InferredTask {
  const values = [...new Set(distinct.map((v) => v.trim()).filter(Boolean))];
  const booleans = values.map(booleanWord);
  if (values.length >= 1 && values.length <= 2 && booleans.every((b) => b !== null)) {
    if (values.length === 2 && booleans[0] !== booleans[1])
      return { kind: 'binary', values: booleans[0] ? [values[1]!, values[0]!] : values };
    if (values.length === 1) {
      const other = oppositeWord(values[0]!);
      return { kind: 'binary', values: booleans[0] ? [other, values[0]!] : [values[0]!, other] };
    }
  }
  if (values.length === 2) return { kind: 'binary', values: [...values].sort(compareText) };
  const numbers = values.map(parseNumber);
  if (values.length > 2 && numbers.every((n) => n !== null)) {
    if (values.length > 20 || numbers.some((n) => !Number.isInteger(n)))
      return { kind: 'continuous', values: [] };
  }
  const sorted = numbers.every((n) => n !== null)
    ? [...values].sort((a, b) => parseNumber(a)! - parseNumber(b)!)
    : [...values].sort(compareText);
  return { kind: 'categorical', values: sorted };
}

export function compareText(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });
}

/**
 * Reading a label CSV into a header and rows, with csv-parse doing the CSV itself. Around it: the text
 * encoding (UTF-8 with or without BOM, UTF-16 from "Unicode text" exports, Windows-1252 as a last resort),
 * the delimiter (comma, semicolon or tab, detected from the header line), and recovery from rows the
 * parser refuses: such a row is reported with its line number and one sentence, and reading goes on from
 * the next line, so one bad quote never costs the rest of the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CsvError, parse } from 'csv-parse/sync';
import { ApiError } from '../contract/errors.js';

export type CsvDelimiter = ',' | ';' | '\t';

export interface CsvRow {
  /** 1-based line of the file where the row starts. */
  line: number;
  cells: string[];
}

export interface CsvTable {
  fileName: string;
  delimiter: CsvDelimiter;
  /** Column names, trimmed and made unique ("name (2)"); an empty one becomes "column N". */
  header: string[];
  rows: CsvRow[];
  /** Rows that could not be read, each with one sentence. */
  errors: { line: number; reason: string }[];
}

/** A row longer than this is refused (a spreadsheet row of labels is a few hundred bytes). */
export const MAX_ROW_BYTES = 1024 * 1024;

export function decodeCsvBytes(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // Not UTF-8: an older spreadsheet's export in the Windows code page.
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

export async function readCsvFile(file: string): Promise<CsvTable> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ApiError(
      code === 'ENOENT' ? 'not-found' : 'unreadable',
      code === 'ENOENT'
        ? `The file ${file} does not exist.`
        : `Cannot read ${file}: ${(err as Error).message}.`,
    );
  }
  return readCsvText(decodeCsvBytes(bytes), path.basename(file));
}

/** The delimiter used most on the header line outside quotes (comma when there is none). */
export function detectDelimiter(headerLine: string): CsvDelimiter {
  const counts: Record<CsvDelimiter, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++;
  }
  const best = (Object.entries(counts) as [CsvDelimiter, number][]).sort((a, b) => b[1] - a[1])[0]!;
  return best[1] > 0 ? best[0] : ',';
}

const PARSE_ERRORS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field that starts here is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is followed by other characters in the same field',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE:
    'a closing quote is followed by other characters in the same field',
  INVALID_OPENING_QUOTE: 'a quote opens in the middle of a field',
  CSV_MAX_RECORD_SIZE: `the row is longer than ${MAX_ROW_BYTES / 1024 / 1024} MB`,
};

// eslint-disable-next-line no-control-regex
const BINARY = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/;

export function readCsvText(input: string, fileName: string): CsvTable {
  // One newline convention inside and between fields, so line numbers and the parser agree.
  const text = input.replace(/^\ufeff/, '').replace(/\r\n?/g, '\n');
  const newlines: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) newlines.push(i);
  const lineAt = (offset: number) => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  const firstLine = text.replace(/^\n+/, '').split('\n', 1)[0] ?? '';
  if (!firstLine.trim()) throw new ApiError('bad-input', `${fileName} is empty: it has no header line.`);
  const delimiter = detectDelimiter(firstLine);

  const records: CsvRow[] = [];
  const errors: { line: number; reason: string }[] = [];
  let base = 0;
  while (base < text.length) {
    let consumed = 0;
    try {
      parse(text.slice(base), {
        delimiter,
        record_delimiter: '\n',
        quote: '"',
        relax_column_count: true,
        relax_quotes: true,
        skip_empty_lines: true,
        max_record_size: MAX_ROW_BYTES,
        raw: true,
        // With `raw`, each record arrives as { record, raw } (the typings do not model that).
        on_record: ((r: { record: string[]; raw: string }) => {
          const leading = r.raw.length - r.raw.replace(/^\n+/, '').length;
          records.push({ line: lineAt(base + consumed + leading), cells: r.record });
          consumed += r.raw.length;
          return null;
        }) as unknown as (record: string[]) => null,
      });
      break;
    } catch (err) {
      if (!(err instanceof CsvError)) throw err;
      // The refused row starts after the rows already taken (and any empty lines before it).
      let start = base + consumed;
      while (text[start] === '\n') start++;
      const line = lineAt(start);
      errors.push({ line, reason: `Line ${line}: ${PARSE_ERRORS[err.code] ?? err.message}.` });
      const next = text.indexOf('\n', start);
      base = next < 0 ? text.length : next + 1;
    }
  }

  const headerRow = records.shift();
  if (!headerRow || headerRow.line !== lineAt(text.search(/[^\n]/)))
    throw new ApiError(
      'bad-input',
      `The header line of ${fileName} cannot be read: ${errors[0]?.reason ?? 'it is empty'}`,
    );
  const header = uniqueNames(headerRow.cells);
  const rows: CsvRow[] = [];
  for (const r of records) {
    const cells = r.cells.map((c) => c.trim());
    if (cells.every((c) => c === '')) continue;
    if (cells.some((c) => BINARY.test(c))) {
      errors.push({ line: r.line, reason: `Line ${r.line} holds binary data, not text.` });
      continue;
    }
    if (cells.length > header.length && cells.slice(header.length).some((c) => c !== '')) {
      errors.push({
        line: r.line,
        reason: `Line ${r.line} has ${cells.length} fields but the header has ${header.length}.`,
      });
      continue;
    }
    rows.push({ line: r.line, cells });
  }
  errors.sort((a, b) => a.line - b.line);
  return { fileName, delimiter, header, rows, errors };
}

function uniqueNames(cells: string[]): string[] {
  const seen = new Map<string, number>();
  return cells.map((raw, i) => {
    const name = raw.trim() || `column ${i + 1}`;
    const n = (seen.get(name.toLowerCase()) ?? 0) + 1;
    seen.set(name.toLowerCase(), n);
    return n === 1 ? name : `${name} (${n})`;
  });
}

/** The CSV a command names: a file on this machine, or text the renderer read from a picked file. */
export async function readCsvSource(
  source: { path: string } | { text: string; fileName: string },
): Promise<CsvTable> {
  return 'path' in source ? readCsvFile(source.path) : readCsvText(source.text, source.fileName);
}

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCsvBytes, readCsvFile, readCsvText } from '../../../src-main/project/label-csv-read.js';
import { tempDir } from '../../helpers/temp.js';

const cells = (text: string) => readCsvText(text, 'labels.csv').rows.map((r) => r.cells);

describe('label CSV reading', () => {
  it('detects comma, semicolon and tab from the header line', () => {
    expect(readCsvText('slide,tumor\na,1\n', 'x').delimiter).toBe(',');
    expect(readCsvText('slide;tumor;grade\na;1;2\n', 'x').delimiter).toBe(';');
    expect(readCsvText('slide\ttumor\na\t1\n', 'x').delimiter).toBe('\t');
    // A comma inside a quoted header name does not count.
    expect(readCsvText('"slide, file";tumor\n"a,b";1\n', 'x')).toMatchObject({
      delimiter: ';',
      header: ['slide, file', 'tumor'],
      rows: [{ cells: ['a,b', '1'] }],
    });
  });

  it('drops a BOM, reads CRLF, and keeps quoted commas, quotes and newlines in a field', () => {
    const t = readCsvText('\ufeffslide,note\r\n"a,1.svs","say ""hi""\r\nthere"\r\nb.svs,x\r\n', 'x');
    expect(t.header).toEqual(['slide', 'note']);
    expect(t.rows).toEqual([
      { line: 2, cells: ['a,1.svs', 'say "hi"\nthere'] },
      { line: 4, cells: ['b.svs', 'x'] },
    ]);
  });

  it('keeps empty cells empty, skips blank lines, and trims cells', () => {
    expect(cells('slide,a,b\n\n x.svs , ,2\n,,\ny.svs\n')).toEqual([['x.svs', '', '2'], ['y.svs']]);
  });

  it('reports a row with an unclosed quote by its line and reads on from the next line', () => {
    const t = readCsvText('slide,tumor\na.svs,yes\n"b.svs,no\nc.svs,yes\nd.svs,no\n', 'x');
    expect(t.errors).toEqual([
      { line: 3, reason: 'Line 3: a quoted field that starts here is never closed.' },
    ]);
    expect(t.rows.map((r) => [r.line, r.cells[0]])).toEqual([
      [2, 'a.svs'],
      [4, 'c.svs'],
      [5, 'd.svs'],
    ]);
  });

  it('refuses rows with more fields than the header and rows of binary junk, one sentence each', () => {
    const t = readCsvText('slide,tumor\na.svs,yes,extra\nb\u0000\u0001.svs,no\nc.svs,yes,\n', 'x');
    expect(t.errors).toEqual([
      { line: 2, reason: 'Line 2 has 3 fields but the header has 2.' },
      { line: 3, reason: 'Line 3 holds binary data, not text.' },
    ]);
    expect(t.rows.map((r) => r.cells[0])).toEqual(['c.svs']);
  });

  it('names empty and repeated header cells so every column can be mapped', () => {
    expect(readCsvText('slide,,grade,Grade\n', 'x').header).toEqual([
      'slide',
      'column 2',
      'grade',
      'Grade (2)',
    ]);
  });

  it('refuses an empty file with a sentence naming it', () => {
    expect(() => readCsvText('\n\n', 'empty.csv')).toThrow('empty.csv is empty: it has no header line.');
  });

  it('decodes UTF-16 ("Unicode text" exports) and Windows-1252 as well as UTF-8', () => {
    const text = 'slide,site\nå.svs,Malmö\n';
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect(decodeCsvBytes(utf16)).toBe(text);
    expect(decodeCsvBytes(Buffer.from(text, 'latin1'))).toBe(text);
    expect(decodeCsvBytes(Buffer.from(`\ufeff${text}`, 'utf8'))).toBe(text);
  });

  it('reads a file from disk and says when it is missing', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'l.csv'), 'slide;tumor\r\na.svs;TRUE\r\n');
    expect((await readCsvFile(path.join(dir, 'l.csv'))).rows).toEqual([
      { line: 2, cells: ['a.svs', 'TRUE'] },
    ]);
    await expect(readCsvFile(path.join(dir, 'nope.csv'))).rejects.toThrow(
      `The file ${path.join(dir, 'nope.csv')} does not exist.`,
    );
  });
});

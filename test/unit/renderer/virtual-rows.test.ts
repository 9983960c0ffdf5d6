/** Which rows a virtualised list renders and which pages of data they need. */
import { describe, expect, it } from 'vitest';
import { pagesOf, scrollToReveal, visibleRows } from '../../../src-renderer/lib/virtual-rows.js';

describe('virtual rows', () => {
  it('renders the rows in view and a few either side, never past the ends', () => {
    expect(visibleRows(0, 440, 44, 20_000, 5)).toEqual({ start: 0, end: 16 });
    expect(visibleRows(44 * 1000 + 10, 440, 44, 20_000, 5)).toEqual({ start: 995, end: 1016 });
    expect(visibleRows(44 * 20_000, 440, 44, 20_000, 5)).toEqual({ start: 19_994, end: 20_000 });
    expect(visibleRows(0, 440, 44, 3, 5)).toEqual({ start: 0, end: 3 });
    expect(visibleRows(500, 440, 44, 0, 5)).toEqual({ start: 0, end: 0 });
  });

  it('names the pages a range needs', () => {
    expect(pagesOf({ start: 95, end: 205 }, 100)).toEqual([0, 1, 2]);
    expect(pagesOf({ start: 100, end: 200 }, 100)).toEqual([1]);
    expect(pagesOf({ start: 5, end: 5 }, 100)).toEqual([]);
  });

  it('scrolls just enough to reveal a row under a sticky header', () => {
    expect(scrollToReveal(9, 0, 480, 44, 36)).toBeNull();
    expect(scrollToReveal(10, 0, 480, 44, 36)).toBe(484 - 444);
    expect(scrollToReveal(2, 200, 480, 44, 36)).toBe(88);
    // Row 20 ends at 924; 444 px of rows are visible below the header.
    expect(scrollToReveal(20, 0, 480, 44, 36)).toBe(924 - 444);
  });
});

/** Multi-selection as in a file manager, over a list far longer than the rows on screen. */
import { describe, expect, it } from 'vitest';
import {
  clickRow,
  emptySelection,
  retain,
  selectAll,
  toApiSelection,
} from '../../../src-renderer/lib/selection.js';

const order = Array.from({ length: 20_000 }, (_, i) => 1000 + i);
const plain = { range: false, toggle: false };
const shift = { range: true, toggle: false };
const ctrl = { range: false, toggle: true };
const ids = (s: { selected: ReadonlySet<number> }) => [...s.selected].sort((a, b) => a - b);

describe('selection', () => {
  it('click selects one, Ctrl toggles, Shift takes the range from the anchor', () => {
    let s = clickRow(emptySelection, 1005, plain, order);
    expect(ids(s)).toEqual([1005]);
    s = clickRow(s, 1002, shift, order);
    expect(ids(s)).toEqual([1002, 1003, 1004, 1005]);
    // Shift again from the same anchor replaces the range.
    s = clickRow(s, 1007, shift, order);
    expect(ids(s)).toEqual([1005, 1006, 1007]);
    s = clickRow(s, 1006, ctrl, order);
    expect(ids(s)).toEqual([1005, 1007]);
    // Ctrl+Shift adds a range from the new anchor to what is there.
    s = clickRow(s, 1010, { range: true, toggle: true }, order);
    expect(ids(s)).toEqual([1005, 1006, 1007, 1008, 1009, 1010]);
    expect(ids(clickRow(s, 1003, plain, order))).toEqual([1003]);
  });

  it('takes a Shift-range across rows never rendered', () => {
    const s = clickRow(clickRow(emptySelection, 1000, plain, order), 20_999, shift, order);
    expect(s.selected.size).toBe(20_000);
  });

  it('sends the filter, not 20,000 ids, when everything is selected', () => {
    const filter = { missingTaskIds: [2] };
    expect(toApiSelection(selectAll(order), order, filter)).toEqual({ filter });
    const some = clickRow(clickRow(emptySelection, 1009, plain, order), 1007, shift, order);
    expect(toApiSelection(some, order, filter)).toEqual({ ids: [1007, 1008, 1009] });
  });

  it('keeps only what is still in the list', () => {
    const s = clickRow(clickRow(emptySelection, 1000, plain, order), 1004, shift, order);
    const kept = retain(s, [1001, 1003, 2000]);
    expect(ids(kept)).toEqual([1001, 1003]);
    expect(kept.anchor).toBeNull();
    expect(retain(s, order)).toBe(s);
  });
});

/**
 * Multi-selection in a long list, the way file managers do it: a click selects one row, Ctrl/Cmd-click
 * toggles one, Shift-click selects the range from the anchor (Ctrl+Shift adds it). Rows are slide ids; the
 * range is taken in `order`, the list's full id order, so it works across rows never rendered. Pure.
 */
import type { SlideFilter, SlideSelection } from '../../src-main/contract/contract.js';

export interface SelectionState {
  selected: ReadonlySet<number>;
  /** Where the next Shift-range starts. */
  anchor: number | null;
}

export const emptySelection: SelectionState = { selected: new Set(), anchor: null };

export interface Modifiers {
  /** Shift: a range from the anchor. */
  range: boolean;
  /** Ctrl or Cmd: toggle one, or add a range to what is selected. */
  toggle: boolean;
}

function rangeIds(order: readonly number[], from: number, to: number): number[] {
  const a = order.indexOf(from);
  const b = order.indexOf(to);
  if (a < 0 || b < 0) return [to];
  return order.slice(Math.min(a, b), Math.max(a, b) + 1);
}

export function clickRow(
  state: SelectionState,
  id: number,
  modifiers: Modifiers,
  order: readonly number[],
): SelectionState {
  if (modifiers.range && state.anchor !== null) {
    const range = rangeIds(order, state.anchor, id);
    const selected = new Set(modifiers.toggle ? state.selected : []);
    for (const r of range) selected.add(r);
    return { selected, anchor: state.anchor };
  }
  if (modifiers.toggle) {
    const selected = new Set(state.selected);
    if (selected.has(id)) selected.delete(id);
    else selected.add(id);
    return { selected, anchor: id };
  }
  return { selected: new Set([id]), anchor: id };
}

export function selectAll(order: readonly number[]): SelectionState {
  return { selected: new Set(order), anchor: order[0] ?? null };
}

/** Keeps only ids still in the list (after a filter change or a removal). */
export function retain(state: SelectionState, order: readonly number[]): SelectionState {
  if (state.selected.size === 0) return state;
  const present = new Set(order);
  const selected = new Set([...state.selected].filter((id) => present.has(id)));
  if (selected.size === state.selected.size) return state;
  return { selected, anchor: state.anchor !== null && present.has(state.anchor) ? state.anchor : null };
}

/**
 * What a bulk command gets: every slide of the filter when all of the list is selected (one short
 * request, however many slides), else the ids in list order.
 */
export function toApiSelection(
  state: SelectionState,
  order: readonly number[],
  filter: SlideFilter,
): SlideSelection {
  if (order.length > 0 && state.selected.size === order.length && order.every((id) => state.selected.has(id)))
    return { filter };
  return { ids: order.filter((id) => state.selected.has(id)) };
}

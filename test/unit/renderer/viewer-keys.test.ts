/** The Viewer's two keyboards (view and labeling) and how they share keys. */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../src-main/contract/contract.js';
import { keyForValue, valueForKey, viewerAction } from '../../../src-renderer/lib/viewer-keys.js';

const binary: Pick<Task, 'kind' | 'values'> = {
  kind: 'binary',
  values: [
    { name: 'no', color: '#4e79a7', key: '0' },
    { name: 'yes', color: '#e15759', key: '1' },
  ],
};
const categorical: Pick<Task, 'kind' | 'values'> = {
  kind: 'categorical',
  values: [
    { name: 'LUAD', color: '#4e79a7', key: null },
    { name: 'LUSC', color: '#f28e2b', key: 's' },
    { name: 'other', color: '#e15759', key: null },
  ],
};
const continuous: Pick<Task, 'kind' | 'values'> = { kind: 'continuous', values: [] };
const key = (k: string, shiftKey = false) => ({ key: k, shiftKey });

describe('viewer keys', () => {
  it('sets values by their own key, or by position when they have none', () => {
    expect(valueForKey(binary, '1')).toBe('yes');
    expect(valueForKey(binary, '0')).toBe('no');
    expect(valueForKey(binary, '2')).toBeNull();
    expect(valueForKey(categorical, '1')).toBe('LUAD');
    expect(valueForKey(categorical, 'S')).toBe('LUSC');
    // Position 2 is LUSC, which has its own key: the digit does not reach it.
    expect(valueForKey(categorical, '2')).toBeNull();
    expect(valueForKey(categorical, '3')).toBe('other');
    expect([0, 1, 2].map((i) => keyForValue(categorical, i))).toEqual(['1', 'S', '3']);
  });

  it('labels while the panel is open, and gives the view its keys back otherwise', () => {
    const labeling = { task: binary };
    expect(viewerAction(key('1'), labeling, true)).toEqual({ kind: 'set-value', value: 'yes' });
    // 0 fits the view when no panel is open, labels "no" when it is; Home always fits.
    expect(viewerAction(key('0'), null, true)).toEqual({ kind: 'fit' });
    expect(viewerAction(key('0'), labeling, true)).toEqual({ kind: 'set-value', value: 'no' });
    expect(viewerAction(key('Home'), labeling, true)).toEqual({ kind: 'fit' });
    expect(viewerAction(key('Backspace'), labeling, true)).toEqual({ kind: 'clear-value' });
    // The overlays' toggles: T the tissue, H the heatmap, G the patches a run trains on.
    expect(viewerAction(key('t'), null, true)).toEqual({ kind: 'toggle-tissue' });
    expect(viewerAction(key('h'), labeling, true)).toEqual({ kind: 'toggle-heatmap' });
    expect(viewerAction(key('g'), null, true)).toEqual({ kind: 'toggle-patches' });
  });

  it('lets a value key shadow a pan key, and keeps the arrows panning', () => {
    const labeling = { task: categorical };
    expect(viewerAction(key('s'), labeling, true)).toEqual({ kind: 'set-value', value: 'LUSC' });
    expect(viewerAction(key('s'), null, true)).toEqual({ kind: 'pan', dx: 0, dy: 0.2 });
    expect(viewerAction(key('ArrowDown'), labeling, true)).toEqual({ kind: 'pan', dx: 0, dy: 0.2 });
    expect(viewerAction(key('ArrowRight'), labeling, true)).toEqual({ kind: 'pan', dx: 0.2, dy: 0 });
  });

  it('moves through tasks with Tab unless a control needs Tab, and through slides with J, K, N', () => {
    const labeling = { task: binary };
    expect(viewerAction(key('Tab'), labeling, true)).toEqual({ kind: 'task', delta: 1 });
    expect(viewerAction(key('Tab', true), labeling, true)).toEqual({ kind: 'task', delta: -1 });
    expect(viewerAction(key('Tab'), labeling, false)).toBeNull();
    expect(viewerAction(key('Tab'), null, true)).toBeNull();
    expect(viewerAction(key('j'), labeling, true)).toEqual({ kind: 'step', delta: 1 });
    expect(viewerAction(key('K'), null, true)).toEqual({ kind: 'step', delta: -1 });
    expect(viewerAction(key('n'), labeling, true)).toEqual({ kind: 'next-missing' });
    expect(viewerAction(key('n'), null, true)).toBeNull();
    expect(viewerAction(key(']'), labeling, true)).toEqual({ kind: 'step', delta: 1 });
  });

  it('sends digits of a continuous task to its number field, leaving minus to zoom out', () => {
    const labeling = { task: continuous };
    expect(viewerAction(key('4'), labeling, true)).toEqual({ kind: 'edit-number', digit: '4' });
    expect(viewerAction(key('Enter'), labeling, true)).toEqual({ kind: 'edit-number', digit: '' });
    expect(viewerAction(key('-'), labeling, true)).toEqual({ kind: 'zoom', factor: 1 / 1.6 });
  });
});

/**
 * What a key does in the Viewer. Two keyboards share it: the view's own (arrows and WASD pan, + and −
 * zoom, 0 and Home fit, [ ] and Page Up/Down step through the list, T shows the tissue mask, H the model heatmap, G the patches a run trains on) and, while the Labels
 * panel is open, labeling:
 *
 * - a value's key (binary tasks 0 and 1, categorical 1–9 by default, or the key set on the value) sets the
 *   current task's value; a digit no value claims sets the value at that position (1 = first);
 * - Backspace or Delete clears it; Tab and Shift+Tab move to the next and previous task;
 * - N moves to the next slide of the list without a value for the current task; J and K (open panel or
 *   not) to the next and previous slide.
 *
 * Annotate mode is the third keyboard, and the mode rule is one panel, one keyboard: Shift+A (or the
 * Annotate button) turns it on and shows the Annotations panel in place of the Labels panel; opening the
 * Labels panel turns it off. So labeling keys work only while the Labels panel is open, and the tool and
 * class keys (annotation-keys.ts) only in annotate mode; never both. The view's keys above work in every
 * mode, because annotation keys are chosen not to claim them, except H: in annotate mode it hides and
 * shows the shapes (as in QuPath), and the heatmap is toggled with its button. Shift+A is read before labeling, so a value
 * keyed A is set with A, not Shift+A.
 *
 * Where the two meet, labeling wins, because labeling is what the open panel is for: with a binary task
 * current, 0 sets its first value (a continuous task's digits go to its number field), so Fit is also on Home, which no value can take (value keys are
 * letters and digits); a value keyed W, A, S or D shadows that pan key, and the arrows still pan. J, K
 * and N can never be value keys (the contract refuses them). The arrows keep panning rather than step
 * slides: a pathologist zoomed in on a region needs them, as in QuPath. Pure.
 */
import type { Task } from '../../src-main/contract/contract.js';

export type ViewerAction =
  | { kind: 'pan'; dx: number; dy: number }
  | { kind: 'zoom'; factor: number }
  | { kind: 'fit' }
  | { kind: 'step'; delta: 1 | -1 }
  | { kind: 'next-missing' }
  | { kind: 'set-value'; value: string }
  | { kind: 'clear-value' }
  | { kind: 'edit-number'; digit: string }
  | { kind: 'task'; delta: 1 | -1 }
  | { kind: 'annotate' }
  | { kind: 'toggle-tissue' }
  | { kind: 'toggle-heatmap' }
  | { kind: 'toggle-patches' };

export interface KeyInput {
  key: string;
  shiftKey: boolean;
}

const ZOOM_STEP = 1.6;
const PAN_STEP = 0.2;

const VIEW_KEYS: Record<string, ViewerAction> = {
  ArrowLeft: { kind: 'pan', dx: -PAN_STEP, dy: 0 },
  a: { kind: 'pan', dx: -PAN_STEP, dy: 0 },
  ArrowRight: { kind: 'pan', dx: PAN_STEP, dy: 0 },
  d: { kind: 'pan', dx: PAN_STEP, dy: 0 },
  ArrowUp: { kind: 'pan', dx: 0, dy: -PAN_STEP },
  w: { kind: 'pan', dx: 0, dy: -PAN_STEP },
  ArrowDown: { kind: 'pan', dx: 0, dy: PAN_STEP },
  s: { kind: 'pan', dx: 0, dy: PAN_STEP },
  '+': { kind: 'zoom', factor: ZOOM_STEP },
  '=': { kind: 'zoom', factor: ZOOM_STEP },
  '-': { kind: 'zoom', factor: 1 / ZOOM_STEP },
  _: { kind: 'zoom', factor: 1 / ZOOM_STEP },
  '0': { kind: 'fit' },
  Home: { kind: 'fit' },
  '[': { kind: 'step', delta: -1 },
  PageUp: { kind: 'step', delta: -1 },
  ']': { kind: 'step', delta: 1 },
  PageDown: { kind: 'step', delta: 1 },
  t: { kind: 'toggle-tissue' },
  h: { kind: 'toggle-heatmap' },
  g: { kind: 'toggle-patches' },
};

export const VIEW_ZOOM_STEP = ZOOM_STEP;

/** The value a key sets on `task`, or null. Keys compare without case. */
export function valueForKey(task: Pick<Task, 'kind' | 'values'>, key: string): string | null {
  if (task.kind === 'continuous' || key.length !== 1) return null;
  const k = key.toLowerCase();
  const keyed = task.values.find((v) => v.key !== null && v.key.toLowerCase() === k);
  if (keyed) return keyed.name;
  if (/^[1-9]$/.test(k)) {
    const byPosition = task.values[Number(k) - 1];
    // A position only reaches a value that has no key of its own (else its own key is the way).
    if (byPosition && byPosition.key === null) return byPosition.name;
  }
  return null;
}

/** The key that sets `value` (its own, or its position when it has none and is among the first nine). */
export function keyForValue(task: Pick<Task, 'values'>, index: number): string | null {
  const value = task.values[index];
  if (!value) return null;
  if (value.key) return value.key.toUpperCase();
  if (index < 9) {
    const digit = String(index + 1);
    if (!task.values.some((v) => v.key === digit)) return digit;
  }
  return null;
}

/**
 * The action for a key with no Ctrl, Cmd or Alt held. `labeling` is the current task while the Labels
 * panel is open (null: no panel or no task); `tabAllowed` is false while focus is on a control that
 * needs Tab to move on.
 */
export function viewerAction(
  input: KeyInput,
  labeling: { task: Pick<Task, 'kind' | 'values'> | null } | null,
  tabAllowed: boolean,
): ViewerAction | null {
  const key = input.key.length === 1 ? input.key.toLowerCase() : input.key;
  if (key === 'a' && input.shiftKey) return { kind: 'annotate' };
  if (labeling) {
    const task = labeling.task;
    if (key === 'Tab') return tabAllowed ? { kind: 'task', delta: input.shiftKey ? -1 : 1 } : null;
    if (key === 'n' && task) return { kind: 'next-missing' };
    if (task) {
      if (key === 'Backspace' || key === 'Delete') return { kind: 'clear-value' };
      if (task.kind === 'continuous') {
        // Typing a number goes to the panel's field (Enter there saves); '-' stays zoom out.
        if (/^[0-9.]$/.test(key)) return { kind: 'edit-number', digit: key };
        if (key === 'Enter') return { kind: 'edit-number', digit: '' };
      } else {
        const value = valueForKey(task, key);
        if (value !== null) return { kind: 'set-value', value };
      }
    }
  }
  if (key === 'j') return { kind: 'step', delta: 1 };
  if (key === 'k') return { kind: 'step', delta: -1 };
  return VIEW_KEYS[key] ?? null;
}

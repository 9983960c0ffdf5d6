/**
 * What a key does in the Viewer's annotate mode (Shift+A, or the Annotate button, turns it on; the Labels
 * panel's keys are off while it is on). The keys are QuPath's where they do not meet the view's own:
 *
 * - tools: M select and move, R rectangle, E ellipse, P polygon, L line, F freehand (lasso), B brush,
 *   . (period) points; a tool's key pressed again goes back to select;
 * - classes: 1–9 choose the class at that place in the palette (and set it on the selected shapes);
 * - Escape cancels the shape being drawn, or clears the selection; Enter closes a polygon or ends a line;
 *   Backspace takes back the last vertex while drawing, and Delete or Backspace removes the selection;
 * - U merges the selected shapes (one class), X subtracts the others from the first selected; H hides and
 *   shows the shapes; Ctrl+C, Ctrl+V and Ctrl+A copy, paste (onto this or another slide) and select all.
 *
 * The view's keys are untouched (W, A, S, D and the arrows pan, + and − zoom, 0 and Home fit, [ ] J K
 * step), so they keep working while annotating; 0 stays Fit since classes start at 1. Pure.
 */

export const ANNOTATION_TOOLS = [
  'select',
  'rectangle',
  'ellipse',
  'polygon',
  'line',
  'freehand',
  'brush',
  'points',
] as const;
export type AnnotationTool = (typeof ANNOTATION_TOOLS)[number];

export const TOOL_KEYS: Record<AnnotationTool, string> = {
  select: 'M',
  rectangle: 'R',
  ellipse: 'E',
  polygon: 'P',
  line: 'L',
  freehand: 'F',
  brush: 'B',
  points: '.',
};

export type AnnotationAction =
  | { kind: 'tool'; tool: AnnotationTool }
  | { kind: 'class'; position: number }
  | { kind: 'cancel' }
  | { kind: 'finish' }
  | { kind: 'undo-vertex' }
  | { kind: 'delete' }
  | { kind: 'merge' }
  | { kind: 'subtract' }
  | { kind: 'toggle-visible' }
  | { kind: 'copy' }
  | { kind: 'paste' }
  | { kind: 'select-all' };

export interface AnnotationKeyInput {
  key: string;
  /** Ctrl, or Cmd on macOS. */
  primary: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

const BY_KEY = new Map(
  Object.entries(TOOL_KEYS).map(([tool, key]) => [key.toLowerCase(), tool as AnnotationTool]),
);

/**
 * The action of a key in annotate mode, or null (then the view's keys apply). `tool` is the current
 * tool and `drawing` whether a shape is being drawn (Backspace then takes back a vertex).
 */
export function annotationAction(
  input: AnnotationKeyInput,
  tool: AnnotationTool,
  drawing: boolean,
): AnnotationAction | null {
  const key = input.key.length === 1 ? input.key.toLowerCase() : input.key;
  if (input.altKey) return null;
  if (input.primary) {
    if (input.shiftKey) return null;
    if (key === 'c') return { kind: 'copy' };
    if (key === 'v') return { kind: 'paste' };
    if (key === 'a') return { kind: 'select-all' };
    return null;
  }
  if (key === 'Escape') return { kind: 'cancel' };
  if (key === 'Enter') return drawing ? { kind: 'finish' } : null;
  if (key === 'Backspace') return drawing ? { kind: 'undo-vertex' } : { kind: 'delete' };
  if (key === 'Delete') return { kind: 'delete' };
  if (input.shiftKey) return null;
  const picked = BY_KEY.get(key);
  if (picked) return { kind: 'tool', tool: picked === tool && picked !== 'select' ? 'select' : picked };
  if (/^[1-9]$/.test(key)) return { kind: 'class', position: Number(key) - 1 };
  if (key === 'u') return { kind: 'merge' };
  if (key === 'x') return { kind: 'subtract' };
  if (key === 'h') return { kind: 'toggle-visible' };
  return null;
}

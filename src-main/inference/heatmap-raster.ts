/**
 * A slide's heatmap raster: what an inference job learned about each patch of the slide's grid, kept in the
 * project's cache as `cache/heatmaps/<model key>/<slide fingerprint>.heatmap`: the grid's geometry (level-0
 * top-left corner of each patch and the patch side in level-0 pixels), each patch's attention (softmax over
 * the slide, sums to 1) and each task's per-patch class probabilities, plus the slide's probabilities.
 *
 * Layout: one line of JSON (the header), padded with spaces so the binary part starts on a 4-byte boundary,
 * then x (Int32 n), y (Int32 n), attention (Float32 n), and per task scores (Float32 n x classes, row-major).
 * Written whole to a temporary file and renamed, so a reader sees an old raster or a new one, never half.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface HeatmapTask {
  name: string;
  values: string[];
}

export interface HeatmapRaster {
  /** Side of one patch in level-0 pixels (the grid's step). */
  extent: number;
  /** The slide's level-0 size. */
  width: number;
  height: number;
  tasks: HeatmapTask[];
  /** The slide's probabilities, per task, per value. */
  probabilities: number[][];
  x: Int32Array;
  y: Int32Array;
  attention: Float32Array;
  /** Per task: n x classes probabilities of each patch on its own. */
  scores: Float32Array[];
}

interface Header {
  format: 'tessera-heatmap';
  version: 1;
  n: number;
  extent: number;
  width: number;
  height: number;
  tasks: HeatmapTask[];
  probabilities: number[][];
}

export function heatmapDir(projectDir: string, modelKey: string): string {
  return path.join(projectDir, 'cache', 'heatmaps', modelKey);
}

export function heatmapPath(projectDir: string, modelKey: string, fingerprint: string): string {
  return path.join(heatmapDir(projectDir, modelKey), `${fingerprint}.heatmap`);
}

export function writeHeatmap(file: string, r: HeatmapRaster): void {
  const n = r.x.length;
  const header: Header = {
    format: 'tessera-heatmap',
    version: 1,
    n,
    extent: r.extent,
    width: r.width,
    height: r.height,
    tasks: r.tasks,
    probabilities: r.probabilities,
  };
  let text = JSON.stringify(header);
  const pad = (4 - ((Buffer.byteLength(text) + 1) % 4)) % 4;
  text += ' '.repeat(pad) + '\n';
  const parts = [Buffer.from(text), bytes(r.x), bytes(r.y), bytes(r.attention), ...r.scores.map(bytes)];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat(parts));
  fs.renameSync(tmp, file);
}

/** The raster at `file`, or null when there is none or it is not a whole raster of this format. */
export function readHeatmap(file: string): HeatmapRaster | null {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return null;
  }
  const nl = buf.indexOf(10);
  if (nl < 0) return null;
  let h: Header;
  try {
    h = JSON.parse(buf.subarray(0, nl).toString('utf8')) as Header;
  } catch {
    return null;
  }
  if (h.format !== 'tessera-heatmap' || h.version !== 1) return null;
  const n = h.n;
  const classes = h.tasks.map((t) => t.values.length);
  const expected = nl + 1 + 4 * (3 * n + classes.reduce((a, c) => a + n * c, 0));
  if (buf.length !== expected || (nl + 1) % 4 !== 0) return null;
  const ab = new ArrayBuffer(buf.length - nl - 1);
  new Uint8Array(ab).set(buf.subarray(nl + 1));
  let o = 0;
  const take = <T>(make: (b: ArrayBuffer, o: number, l: number) => T, len: number): T => {
    const v = make(ab, o, len);
    o += 4 * len;
    return v;
  };
  const x = take((b, off, l) => new Int32Array(b, off, l), n);
  const y = take((b, off, l) => new Int32Array(b, off, l), n);
  const attention = take((b, off, l) => new Float32Array(b, off, l), n);
  const scores = classes.map((c) => take((b, off, l) => new Float32Array(b, off, l), n * c));
  return {
    extent: h.extent,
    width: h.width,
    height: h.height,
    tasks: h.tasks,
    probabilities: h.probabilities,
    x,
    y,
    attention,
    scores,
  };
}

function bytes(a: Int32Array | Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * The first reduced copy of a slide's large level (DeepZoom.firstReducedCopy), kept in the project's cache
 * folder so that opening a single-level slide in the viewer does not wait for the whole level to be read
 * and reduced again (about half a second on a 2-core machine for a 6.6 Mpx slide). Made at import.
 *
 * File: "TSRC1\n", one line of JSON (fingerprint, slide level, factor, size), then the RGBA pixels
 * compressed with raw deflate. A copy whose fingerprint differs from the slide's, or that cannot be read,
 * is ignored (and rebuilt on the next import).
 */
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { ReducedCopy } from '../slides/index.js';
import type { Project } from './project.js';

const MAGIC = 'TSRC1\n';
// Several MB each way: compressed off the event loop (libuv's thread pool), not with the *Sync calls.
const deflateRaw = promisify(zlib.deflateRaw);
const inflateRaw = promisify(zlib.inflateRaw);

/** Levels smaller than this are read quickly enough: no copy is kept for them. */
export const REDUCED_COPY_MIN_PIXELS = 4 * 1024 * 1024;

interface Header {
  fingerprint: string;
  slideLevel: number;
  factor: number;
  width: number;
  height: number;
}

export function reducedCopyPath(project: Project, slideId: number): string {
  return path.join(project.dir, 'cache', 'reduced', `${slideId}.rgba.deflate`);
}

export async function saveReducedCopy(
  project: Project,
  slideId: number,
  fingerprint: string,
  copy: ReducedCopy,
): Promise<void> {
  const file = reducedCopyPath(project, slideId);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const header: Header = {
    fingerprint,
    slideLevel: copy.slideLevel,
    factor: copy.factor,
    width: copy.width,
    height: copy.height,
  };
  const pixels = await deflateRaw(copy.rgba, { level: 1 });
  const head = Buffer.from(MAGIC + JSON.stringify(header) + '\n');
  await fs.promises.writeFile(`${file}.tmp`, Buffer.concat([head, pixels]));
  await fs.promises.rename(`${file}.tmp`, file);
}

/** The kept copy of this slide, or undefined when there is none or it does not belong to `fingerprint`. */
export async function loadReducedCopy(
  project: Project,
  slideId: number,
  fingerprint: string,
): Promise<ReducedCopy | undefined> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(reducedCopyPath(project, slideId));
  } catch {
    return undefined;
  }
  try {
    if (bytes.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) return undefined;
    const end = bytes.indexOf(0x0a, MAGIC.length);
    if (end < 0) return undefined;
    const header = JSON.parse(bytes.subarray(MAGIC.length, end).toString('utf8')) as Header;
    if (header.fingerprint !== fingerprint) return undefined;
    const size = header.width * header.height * 4;
    const rgba = new Uint8Array(await inflateRaw(bytes.subarray(end + 1), { maxOutputLength: size }));
    if (rgba.length !== size) return undefined;
    return {
      slideLevel: header.slideLevel,
      factor: header.factor,
      width: header.width,
      height: header.height,
      rgba,
    };
  } catch {
    return undefined; // damaged: the viewer reads the level instead
  }
}

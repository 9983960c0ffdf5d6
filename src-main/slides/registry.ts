/**
 * Backends ranked per file: each scores how well it can open the file, the best one opens it, and
 * if that fails the next one is tried. The error of the best-scoring backend is the one reported.
 */
import { openWithoutBlocking } from './open-file.js';
import type { SlideBackend, SlideReader } from './types.js';
import { SlideError, asSlideError } from './errors.js';
import { tiffBackend } from './tiff/tiff-backend.js';
import { openSlideBackend } from './openslide/openslide-reader.js';

export class SlideRegistry {
  constructor(private backends: SlideBackend[]) {}

  /** Built-in TIFF reader plus OpenSlide where libopenslide is installed. */
  static default(log?: (msg: string) => void): SlideRegistry {
    const backends: SlideBackend[] = [tiffBackend()];
    const os = openSlideBackend(log);
    if (os) backends.push(os);
    return new SlideRegistry(backends);
  }

  get names(): string[] {
    return this.backends.map((b) => b.name);
  }

  async open(path: string, only?: SlideBackend['name']): Promise<SlideReader> {
    const head = await readHead(path);
    const scored = await Promise.all(
      this.backends
        .filter((b) => !only || b.name === only)
        .map(async (b) => ({ b, score: await b.score(path, head).catch(() => 0) })),
    );
    const ranked = scored.filter((s) => s.score > 0).sort((a, b) => b.score - a.score);
    if (ranked.length === 0) {
      if (only && !this.names.includes(only))
        throw new SlideError(path, `the ${only} backend is not available`);
      throw new SlideError(path, 'it is not a slide format Tessera can read');
    }
    let firstError: unknown;
    for (const { b } of ranked) {
      try {
        return await b.open(path);
      } catch (err) {
        firstError ??= err;
      }
    }
    throw asSlideError(path, firstError);
  }
}

async function readHead(path: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await openWithoutBlocking(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SlideError(
      path,
      code === 'ENOENT'
        ? 'the file does not exist'
        : code === 'EISDIR'
          ? 'it is a folder'
          : 'the file cannot be opened',
      { cause: err },
    );
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new SlideError(path, 'it is a folder');
    if (!st.isFile()) throw new SlideError(path, 'it is not a regular file (a pipe, socket or device)');
    const buf = new Uint8Array(64);
    const { bytesRead } = await handle.read(buf, 0, 64, 0);
    return buf.subarray(0, bytesRead);
  } catch (err) {
    throw asSlideError(path, err);
  } finally {
    await handle.close();
  }
}

let shared: SlideRegistry | undefined;

export function defaultRegistry(): SlideRegistry {
  shared ??= SlideRegistry.default();
  return shared;
}

/**
 * libopenslide bound at run time through koffi (no build step, no hard dependency). `loadOpenSlide`
 * returns undefined, after one log line, where koffi or libopenslide.so.0 is missing.
 */
import { createRequire } from 'node:module';
import { isHidden } from '../optional-libraries.js';
import { log as appLog } from '../../log.js';

export interface OpenSlideLib {
  version: string;
  detectVendor(path: string): string | null;
  open(path: string): unknown;
  close(osr: unknown): void;
  getError(osr: unknown): string | null;
  getLevelCount(osr: unknown): number;
  getLevelDimensions(osr: unknown, level: number): [number, number];
  getLevelDownsample(osr: unknown, level: number): number;
  getPropertyNames(osr: unknown): string[];
  getPropertyValue(osr: unknown, name: string): string | null;
  getAssociatedImageNames(osr: unknown): string[];
  getAssociatedImageDimensions(osr: unknown, name: string): [number, number];
  /** Fills `dest` (w*h uint32, premultiplied ARGB) on a libuv thread. */
  readRegion(
    osr: unknown,
    dest: Uint32Array,
    x: number,
    y: number,
    level: number,
    w: number,
    h: number,
  ): Promise<void>;
  readAssociatedImage(osr: unknown, name: string, dest: Uint32Array): Promise<void>;
}

const LIBRARY_NAMES = [
  'libopenslide.so.1',
  'libopenslide.so.0',
  'libopenslide.dylib',
  'libopenslide-1.dll',
  'libopenslide-0.dll',
];

let cached: OpenSlideLib | null | undefined;

export function loadOpenSlide(
  log: (msg: string) => void = (m) => console.warn(m),
  libraryNames: string[] = LIBRARY_NAMES,
): OpenSlideLib | undefined {
  // Only the default lookup is cached (other names are for tests and diagnostics).
  if (libraryNames === LIBRARY_NAMES) {
    if (cached !== undefined) return cached ?? undefined;
    cached = bind(log, libraryNames) ?? null;
    return cached ?? undefined;
  }
  return bind(log, libraryNames);
}

function bind(log: (msg: string) => void, libraryNames: string[]): OpenSlideLib | undefined {
  if (isHidden('libopenslide')) {
    log('OpenSlide backend disabled: hidden by TESSERA_WITHOUT');
    return undefined;
  }
  let koffi: typeof import('koffi');
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  } catch (err) {
    log(`OpenSlide backend disabled: koffi is not available (${(err as Error).message})`);
    return undefined;
  }
  let lib: ReturnType<typeof koffi.load> | undefined;
  const tried: string[] = [];
  for (const name of libraryNames) {
    try {
      lib = koffi.load(name);
      break;
    } catch (err) {
      tried.push(`${name}: ${(err as Error).message}`);
    }
  }
  if (!lib) {
    log(`OpenSlide backend disabled: libopenslide is not installed (${tried[0] ?? 'no candidates'})`);
    return undefined;
  }
  const osrHandle = koffi.pointer('openslide_t', koffi.opaque());
  const fn = {
    version: lib.func('const char *openslide_get_version()'),
    detect: lib.func('const char *openslide_detect_vendor(const char *filename)'),
    open: lib.func('openslide_t *openslide_open(const char *filename)'),
    close: lib.func('void openslide_close(openslide_t *osr)'),
    getError: lib.func('const char *openslide_get_error(openslide_t *osr)'),
    levelCount: lib.func('int32_t openslide_get_level_count(openslide_t *osr)'),
    levelDims: lib.func(
      'void openslide_get_level_dimensions(openslide_t *osr, int32_t level, _Out_ int64_t *w, _Out_ int64_t *h)',
    ),
    levelDownsample: lib.func('double openslide_get_level_downsample(openslide_t *osr, int32_t level)'),
    propertyNames: lib.func('const char **openslide_get_property_names(openslide_t *osr)'),
    propertyValue: lib.func('const char *openslide_get_property_value(openslide_t *osr, const char *name)'),
    assocNames: lib.func('const char **openslide_get_associated_image_names(openslide_t *osr)'),
    assocDims: lib.func(
      'void openslide_get_associated_image_dimensions(openslide_t *osr, const char *name, _Out_ int64_t *w, _Out_ int64_t *h)',
    ),
    readRegion: lib.func(
      'void openslide_read_region(openslide_t *osr, _Out_ uint32_t *dest, int64_t x, int64_t y, int32_t level, int64_t w, int64_t h)',
    ),
    readAssoc: lib.func(
      'void openslide_read_associated_image(openslide_t *osr, const char *name, _Out_ uint32_t *dest)',
    ),
  };
  void osrHandle;
  routeLibtiffWarnings(koffi);
  // NULL-terminated char** → string[]
  const strings = (ptr: unknown): string[] => {
    if (!ptr) return [];
    const out: string[] = [];
    for (let i = 0; i < 100000; i++) {
      const s = koffi.decode(ptr, i * 8, 'const char *') as string | null;
      if (s === null) break;
      out.push(s);
    }
    return out;
  };
  const dims = (call: (w: [number], h: [number]) => void): [number, number] => {
    const w: [number] = [0];
    const h: [number] = [0];
    call(w, h);
    return [Number(w[0]), Number(h[0])];
  };
  const async = (f: { async: (...args: unknown[]) => void }, ...args: unknown[]): Promise<void> =>
    new Promise((resolve, reject) => f.async(...args, (err: unknown) => (err ? reject(err) : resolve())));

  return {
    version: fn.version() as string,
    detectVendor: (p) => fn.detect(p) as string | null,
    open: (p) => fn.open(p),
    close: (o) => fn.close(o),
    getError: (o) => fn.getError(o) as string | null,
    getLevelCount: (o) => fn.levelCount(o) as number,
    getLevelDimensions: (o, l) => dims((w, h) => fn.levelDims(o, l, w, h)),
    getLevelDownsample: (o, l) => fn.levelDownsample(o, l) as number,
    getPropertyNames: (o) => strings(fn.propertyNames(o)),
    getPropertyValue: (o, n) => fn.propertyValue(o, n) as string | null,
    getAssociatedImageNames: (o) => strings(fn.assocNames(o)),
    getAssociatedImageDimensions: (o, n) => dims((w, h) => fn.assocDims(o, n, w, h)),
    readRegion: (o, dest, x, y, level, w, h) => async(fn.readRegion, o, dest, x, y, level, w, h),
    readAssociatedImage: (o, n, dest) => async(fn.readAssoc, o, n, dest),
  };
}

/** The handlers kept alive for the life of the process (libtiff holds only their addresses). */
let libtiffHandlers: unknown[] | undefined;

/**
 * libtiff prints its warnings and errors about odd or damaged directories ("Incorrect count for
 * TileOffsets; tag ignored", a dozen per open of a damaged file) on stderr, from inside OpenSlide: they go
 * to the debug log instead (TESSERA_LOG=debug shows them); OpenSlide reports what failed through
 * openslide_get_error, which becomes the user's sentence. The handlers get printf arguments as a va_list,
 * which libc's vsnprintf formats. Where libtiff or libc cannot be bound, the messages stay as they were.
 */
function routeLibtiffWarnings(koffi: typeof import('koffi')): void {
  if (libtiffHandlers) return;
  try {
    const load = (names: string[]) => {
      for (const name of names) {
        try {
          return koffi.load(name);
        } catch {
          // the next name
        }
      }
      throw new Error(`none of ${names.join(', ')} could be loaded`);
    };
    const libtiff = load(['libtiff.so.6', 'libtiff.so.5', 'libtiff.dylib', 'libtiff.6.dylib']);
    const libc = load(['libc.so.6', 'libSystem.B.dylib']);
    const vsnprintf = libc.func('int vsnprintf(_Out_ uint8_t *buf, size_t size, const char *fmt, void *ap)');
    const handlerType = koffi.proto('void TessTiffHandler(const char *module, const char *fmt, void *ap)');
    const text = new Uint8Array(512);
    const handler = (kind: string) =>
      koffi.register((module: string | null, fmt: string, ap: unknown) => {
        const n = vsnprintf(text, text.length, fmt, ap) as number;
        const message = Buffer.from(text.subarray(0, Math.max(0, Math.min(n, text.length - 1)))).toString();
        appLog.debug(`libtiff ${kind}${module ? ` (${module})` : ''}: ${message}`);
      }, koffi.pointer(handlerType));
    libtiffHandlers = [handler('warning'), handler('error')];
    libtiff.func('void *TIFFSetWarningHandler(TessTiffHandler *handler)')(libtiffHandlers[0]);
    libtiff.func('void *TIFFSetErrorHandler(TessTiffHandler *handler)')(libtiffHandlers[1]);
  } catch (err) {
    appLog.debug('libtiff messages stay on stderr: libtiff or libc could not be bound', err);
  }
}

/**
 * libjpeg-turbo compiled to WebAssembly (@cwasm/jpeg-turbo): the JPEG decoder where the native TurboJPEG
 * library is not installed. It is the same library run through its portable C code, which libjpeg-turbo
 * keeps bit-exact with its SIMD code for the default decode (accurate integer IDCT, smooth chroma
 * upsampling), so a slide decodes to the same pixels whichever is used (jpeg-parity.test.ts).
 *
 * The package's own decode() is not used: it allocates per call and treats libjpeg warnings (a truncated
 * scan, which libjpeg fills with grey) as errors, where native TurboJPEG keeps the decoded pixels. Its
 * module exports the TurboJPEG calls themselves, driven here as jpeg-codec.ts drives the native library.
 * A fatal libjpeg error ends in longjmp, which this module implements by throwing out of the instance;
 * that leaves the instance's stack behind, so the instance is dropped and the next call makes a fresh one.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';

/** The part of the WebAssembly global used here (the main tsconfig has no DOM or wasm library types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  RuntimeError: new () => Error;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface TurboJpegExports {
  memory: { buffer: ArrayBuffer };
  malloc(bytes: number): number;
  free(pointer: number): void;
  tjInitDecompress(): number;
  tjDecompress2(
    handle: number,
    jpeg: number,
    jpegSize: number,
    dst: number,
    width: number,
    pitch: number,
    height: number,
    pixelFormat: number,
    flags: number,
  ): number;
}

const TJPF_RGBA = 7;

/** libjpeg's longjmp after a fatal error, thrown through the WebAssembly frames. */
class JpegFatalError extends Error {}

let compiled: object | undefined;

function wasmModule(): object {
  if (!compiled) {
    const file = createRequire(import.meta.url).resolve('@cwasm/jpeg-turbo/jpeg-turbo.wasm');
    compiled = new wasm.Module(fs.readFileSync(file));
  }
  return compiled;
}

/** One instance: its TurboJPEG handle and two buffers in its memory, grown as needed. */
class Instance {
  private readonly exports: TurboJpegExports;
  private readonly handle: number;
  private input = { pointer: 0, bytes: 0 };
  private output = { pointer: 0, bytes: 0 };

  constructor() {
    // Set once the instance exists; the imports below only run during calls into it.
    const self: { memory?: { buffer: ArrayBuffer } } = {};
    const instance = new wasm.Instance(wasmModule(), {
      env: {
        setjmp: () => 0,
        longjmp: () => {
          throw new JpegFatalError('libjpeg stopped at a fatal error');
        },
      },
      wasi_snapshot_preview1: {
        // libjpeg may print a warning to stderr: swallow it (the caller decides what a warning means).
        fd_write: (_fd: number, iovs: number, count: number, written: number) => {
          const view = new DataView(self.memory!.buffer);
          let total = 0;
          for (let i = 0; i < count; i++) total += view.getUint32(iovs + i * 8 + 4, true);
          view.setUint32(written, total, true);
          return 0;
        },
        fd_close: () => 0,
        fd_seek: () => 0,
        environ_sizes_get: (count: number, size: number) => {
          const view = new DataView(self.memory!.buffer);
          view.setUint32(count, 0, true);
          view.setUint32(size, 0, true);
          return 0;
        },
        environ_get: () => 0,
        proc_exit: () => {
          throw new JpegFatalError('the JPEG decoder stopped');
        },
      },
    });
    this.exports = instance.exports as unknown as TurboJpegExports;
    self.memory = this.exports.memory;
    this.handle = this.exports.tjInitDecompress();
    if (!this.handle) throw new Error('the JPEG decoder could not start');
  }

  decode(jpeg: Uint8Array, width: number, height: number, into: Uint8Array): void {
    const ex = this.exports;
    const input = this.reserve(this.input, jpeg.length);
    const output = this.reserve(this.output, width * height * 4);
    new Uint8Array(ex.memory.buffer, input, jpeg.length).set(jpeg);
    // -1 without a longjmp is a warning (TurboJPEG cannot tell us which: it exports no error code), as the
    // native path accepts TJERR_WARNING: the pixels libjpeg produced stand.
    ex.tjDecompress2(this.handle, input, jpeg.length, output, width, 0, height, TJPF_RGBA, 0);
    into.set(new Uint8Array(ex.memory.buffer, output, width * height * 4));
  }

  private reserve(buffer: { pointer: number; bytes: number }, bytes: number): number {
    if (buffer.bytes < bytes) {
      if (buffer.pointer) this.exports.free(buffer.pointer);
      buffer.bytes = Math.max(bytes, 2 * buffer.bytes);
      buffer.pointer = this.exports.malloc(buffer.bytes);
      if (!buffer.pointer) {
        buffer.bytes = 0;
        throw new Error('the JPEG decoder ran out of memory');
      }
    }
    return buffer.pointer;
  }
}

let current: Instance | undefined;

/** Decodes a complete JPEG of width x height pixels to RGBA (into `into` where given). */
export function decodeJpegWasm(
  jpeg: Uint8Array,
  width: number,
  height: number,
  into?: Uint8Array,
): Uint8Array {
  const rgba = into ?? new Uint8Array(width * height * 4);
  current ??= new Instance();
  try {
    current.decode(jpeg, width, height, rgba);
  } catch (err) {
    current = undefined; // its stack pointer is wherever the throw left it
    if (err instanceof JpegFatalError || err instanceof wasm.RuntimeError)
      throw new Error('corrupt JPEG data', { cause: err });
    throw err;
  }
  return rgba;
}

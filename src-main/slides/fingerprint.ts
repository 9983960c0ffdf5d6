/**
 * A cheap identity for a slide file, stored at import so a moved slide folder can be relinked: file
 * size, level-0 dimensions, a hash of the first 64 KiB (TIFF header and directories of most
 * formats) and a hash of 16 evenly spaced 4 KiB samples of the rest (tile data). Reads about
 * 128 KiB whatever the slide size; independent of the decoder, so stable across Tessera versions.
 */
import crypto from 'node:crypto';
import { open } from 'node:fs/promises';
import type { SlideReader } from './types.js';
import { SlideError } from './errors.js';

export interface SlideFingerprint {
  size: number;
  width: number;
  height: number;
  headerSha256: string;
  sampleSha256: string;
  /** One string combining all of the above; equal fingerprints mean "same slide". */
  id: string;
}

const HEADER_BYTES = 64 * 1024;
const SAMPLES = 16;
const SAMPLE_BYTES = 4096;

export async function fingerprint(
  path: string,
  reader: Pick<SlideReader, 'metadata'>,
): Promise<SlideFingerprint> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new SlideError(path, 'the file cannot be opened', { cause: err });
  }
  try {
    const { size } = await handle.stat();
    const header = Buffer.alloc(Math.min(HEADER_BYTES, size));
    await handle.read(header, 0, header.length, 0);
    const sample = crypto.createHash('sha256');
    const rest = size - header.length;
    if (rest > 0) {
      const buf = Buffer.alloc(SAMPLE_BYTES);
      for (let i = 0; i < SAMPLES; i++) {
        const offset = header.length + Math.floor((rest * i) / SAMPLES);
        const { bytesRead } = await handle.read(buf, 0, Math.min(SAMPLE_BYTES, size - offset), offset);
        sample.update(buf.subarray(0, bytesRead));
      }
    }
    const l0 = reader.metadata.levels[0]!;
    const headerSha256 = crypto.createHash('sha256').update(header).digest('hex');
    const sampleSha256 = sample.digest('hex');
    return {
      size,
      width: l0.width,
      height: l0.height,
      headerSha256,
      sampleSha256,
      id: `${size}-${l0.width}x${l0.height}-${headerSha256.slice(0, 16)}-${sampleSha256.slice(0, 16)}`,
    };
  } finally {
    await handle.close();
  }
}

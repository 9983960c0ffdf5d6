/**
 * The frozen (two-stage) baseline's embeddings: every patch of a slide embedded once by the encoder, kept
 * in the project's cache as cache/embeddings/<key>.npy, the key hashing the slide's fingerprint, the
 * encoder's weights and the patch geometry (resolution, size, tissue threshold, level, the patch list), so
 * a cached file is only reused for exactly the same patches through exactly the same encoder.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { decodeNpy, encodeNpy, type SlideModel } from '../../../engine/index.js';
import type { RunSlide } from './slide-data.js';

/** sha256 of the encoder's parameters (names and values), in the engine's order. */
export function encoderWeightsHash(model: SlideModel): string {
  const hash = createHash('sha256');
  for (const p of model.parameterInfo()) {
    if (p.group !== 'encoder') continue;
    const v = model.getParameter(p.name);
    hash.update(p.name);
    hash.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return hash.digest('hex');
}

export function embeddingKey(slide: RunSlide, encoderHash: string): string {
  const g = slide.grid;
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({
      fingerprint: slide.plan.fingerprint,
      encoder: encoderHash,
      mpp: g.targetMpp,
      size: g.patchSize,
      tissue: g.tissueThreshold,
      level: g.level,
      readSize: g.readSize,
      count: g.x.length,
    }),
  );
  hash.update(new Uint8Array(g.x.buffer, g.x.byteOffset, g.x.byteLength));
  hash.update(new Uint8Array(g.y.buffer, g.y.byteOffset, g.y.byteLength));
  return hash.digest('hex').slice(0, 40);
}

export class EmbeddingCache {
  readonly dir: string;

  constructor(projectDir: string) {
    this.dir = path.join(projectDir, 'cache', 'embeddings');
  }

  file(key: string): string {
    return path.join(this.dir, `${key}.npy`);
  }

  /** The kept embeddings (n x dim), or null when absent or not of that shape. */
  read(key: string, n: number, dim: number): Float32Array | null {
    try {
      const { shape, data } = decodeNpy(fs.readFileSync(this.file(key)), this.file(key));
      return shape[0] === n && shape[1] === dim ? data : null;
    } catch {
      return null;
    }
  }

  write(key: string, data: Float32Array, n: number, dim: number): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const file = this.file(key);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, encodeNpy(data, [n, dim]));
    fs.renameSync(tmp, file);
  }
}

/**
 * Fuzzing the ONNX encoder check with files a user might hand us: the fixture CNN truncated, with bytes flipped
 * or spliced (seeded, bounded). Every outcome is either a described encoder or an ApiError whose one sentence
 * names the file; never another exception.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src-main/contract/errors.js';
import { describeOnnxEncoder } from '../../../src-main/onnx/index.js';
import { repoRoot, tempDir } from '../../helpers/temp.js';

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as {
  mean: [number, number, number];
  std: [number, number, number];
};

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('ONNX encoder check, fuzzed', () => {
  it('answers 300 damaged files with a description or one sentence naming the file', () => {
    const original = fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'onnx', 'cnn.onnx'));
    const dir = tempDir();
    const file = path.join(dir, 'damaged.onnx');
    const random = rng(2026);
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      let bytes = Buffer.from(original);
      const kind = i % 3;
      if (kind === 0) bytes = bytes.subarray(0, Math.floor(random() * bytes.length));
      else if (kind === 1)
        for (let k = 0; k < 1 + Math.floor(random() * 8); k++)
          bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      else {
        const at = Math.floor(random() * bytes.length);
        const len = Math.floor(random() * 64);
        bytes = Buffer.concat([
          bytes.subarray(0, at),
          Buffer.from(Array.from({ length: len }, () => Math.floor(random() * 256))),
          bytes.subarray(at),
        ]);
      }
      fs.writeFileSync(file, bytes);
      try {
        const d = describeOnnxEncoder(file, IMAGENET);
        expect(d.inputSize).toBeGreaterThan(0);
      } catch (err) {
        expect(err, String(err)).toBeInstanceOf(ApiError);
        expect((err as Error).message.startsWith(file)).toBe(true);
        expect((err as Error).message.trim().split(/\.\s/).length).toBeLessThanOrEqual(2);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(50);
  });
});

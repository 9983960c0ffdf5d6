import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineCudaInfo } from '../../../src-main/engine/model.js';
import { decodeNpy } from '../../../src-main/engine/npy.js';
import { cli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp.js';
import { relL2, tinyVit } from './helpers.js';

const config = path.join(tinyVit, 'config.json');
const images = ['patch0.png', 'patch1.png', 'patch2.png'].map((f) => path.join(tinyVit, f));

function readNpy(file: string) {
  return decodeNpy(fs.readFileSync(file), file);
}

function row(m: { shape: number[]; data: Float32Array }, i: number): Float32Array {
  const d = m.shape[1]!;
  return m.data.subarray(i * d, (i + 1) * d);
}

describe('tessera embed', () => {
  it('writes N x D float32 rows equal to PyTorch (timm semantics) within 1e-4 relative L2, in argument order', async () => {
    const out = path.join(tempDir(), 'emb.npy');
    // Reverse order, and one image twice: rows follow the arguments.
    const args = [images[2]!, images[0]!, images[1]!, images[2]!];
    const r = await cli('embed', '--config', config, '-o', out, '--chunk-size', '3', ...args);
    expect(r.err).toMatch(/embedded 4\/4/);
    expect(r).toMatchObject({ code: 0, out: `Wrote 4 x 32 embeddings to ${out}\n` });
    const got = readNpy(out);
    expect(got.shape).toEqual([4, 32]);
    const ref = readNpy(path.join(tinyVit, 'embeddings.npy'));
    for (const [i, refRow] of [2, 0, 1, 2].entries()) {
      expect(relL2(row(got, i), row(ref, refRow))).toBeLessThan(1e-4);
    }
    // numpy's header layout: magic, version 1.0, 64-byte aligned data.
    const raw = fs.readFileSync(out);
    expect(raw.toString('latin1', 0, 6)).toBe('\x93NUMPY');
    expect((10 + raw.readUInt16LE(8)) % 64).toBe(0);
  });

  it('resizes and centre-crops other sizes (bicubic, shorter side), close to PIL + PyTorch', async () => {
    const out = path.join(tempDir(), 'emb.npy');
    const r = await cli('embed', '--config', config, '-o', out, '-q', path.join(tinyVit, 'large.png'));
    expect(r.code).toBe(0);
    const ref = readNpy(path.join(tinyVit, 'embeddings-large.npy'));
    // Resampling differs from PIL only in 8-bit rounding, so the embedding is close, not identical.
    expect(relL2(row(readNpy(out), 0), row(ref, 0))).toBeLessThan(5e-3);
  });

  it('half-precision weights give the same embeddings up to f16 rounding', async () => {
    const out = path.join(tempDir(), 'emb16.npy');
    const weights = path.join(tinyVit, 'model.f16.safetensors');
    const r = await cli('embed', '--config', config, '--weights', weights, '-o', out, '-q', images[0]!);
    expect(r.code).toBe(0);
    const err = relL2(row(readNpy(out), 0), row(readNpy(path.join(tinyVit, 'embeddings.npy')), 0));
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(1e-2);
  });

  it('usage mistakes exit 2; unreadable images and mismatched weights exit 1 naming the file', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'emb.npy');
    expect((await cli('embed', '--config', config, images[0]!)).code).toBe(2); // no -o
    const noCfg = await cli('embed', '--config', path.join(dir, 'nope.json'), '-o', out, images[0]!);
    expect(noCfg).toMatchObject({ code: 2 });
    expect(noCfg.err).toMatch(/--config .*nope.json does not exist/);

    const notImage = path.join(dir, 'notes.png');
    fs.writeFileSync(notImage, 'not an image');
    const bad = await cli('embed', '--config', config, '-o', out, '-q', images[0]!, notImage);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`Cannot decode image ${notImage}`);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.existsSync(`${out}.tmp`)).toBe(false);

    // A config for a deeper model than the weights: the error lists what is missing.
    const deeper = path.join(dir, 'config.json');
    const doc = JSON.parse(fs.readFileSync(config, 'utf8')) as { model_args: Record<string, unknown> };
    doc.model_args.depth = 3;
    fs.writeFileSync(deeper, JSON.stringify(doc));
    const mismatch = await cli(
      'embed',
      '--config',
      deeper,
      '--weights',
      path.join(tinyVit, 'model.safetensors'),
      '-o',
      out,
      images[0]!,
    );
    expect(mismatch.code).toBe(1);
    expect(mismatch.err).toMatch(
      /model.safetensors does not match the model: missing tensors: blocks.2.norm1.weight, /,
    );
  });

  it('--random-init runs without a weights file', async () => {
    const out = path.join(tempDir(), 'r.npy');
    const r = await cli(
      'embed',
      '--config',
      config,
      '--random-init',
      '3',
      '-o',
      out,
      '-q',
      images[0]!,
      images[1]!,
    );
    expect(r.code).toBe(0);
    expect(readNpy(out).shape).toEqual([2, 32]);
  });

  it('--device: auto and cpu embed here; cuda without a usable GPU exits 1 with the reason and writes nothing', async () => {
    const info = engineCudaInfo();
    const dir = tempDir();
    const args = (device: string, out: string) => [
      'embed',
      '--config',
      config,
      '--random-init',
      '3',
      '--device',
      device,
      '-o',
      out,
      '-q',
      images[0]!,
    ];
    const auto = await cli(...args('auto', path.join(dir, 'auto.npy')));
    const cpu = await cli(...args('cpu', path.join(dir, 'cpu.npy')));
    expect([auto.code, cpu.code]).toEqual([0, 0]);
    if (!info.available) {
      expect(readNpy(path.join(dir, 'auto.npy')).data).toEqual(readNpy(path.join(dir, 'cpu.npy')).data);
      const cuda = await cli(...args('cuda', path.join(dir, 'cuda.npy')));
      expect(cuda).toMatchObject({ code: 1, out: '', err: `tessera: ${info.message}\n` });
      expect(fs.readdirSync(dir).sort()).toEqual(['auto.npy', 'cpu.npy']);
    }
    const bad = await cli(...args('tpu', path.join(dir, 'x.npy')));
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--device must be auto, cpu or cuda, not "tpu".');
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EncoderModel, readEncoderConfig } from '../../../src-main/engine/model.js';
import { readSafetensors, writeSafetensors } from '../../../src-main/engine/safetensors.js';
import { EngineError } from '../../../src-main/engine/errors.js';
import { tempDir } from '../../helpers/temp.js';
import { fixtures, tinyVit } from './helpers.js';

const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'dtypes.expected.json'), 'utf8')) as Record<
  string,
  { shape: number[]; values: number[] }
>;

function rejection(p: Promise<unknown>): Promise<EngineError> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as EngineError,
  );
}

describe('safetensors reading', () => {
  it('converts F32, F16 (incl. subnormals, -0) and BF16 written by PyTorch to exact float32', () => {
    const file = path.join(fixtures, 'dtypes.safetensors');
    const st = readSafetensors(file, true);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.map((t) => [t.name, t.dtype])).toEqual([
      ['a_f32', 'F32'],
      ['b_f16', 'F16'],
      ['c_bf16', 'BF16'],
    ]);
    for (const t of st.tensors) {
      const want = expected[t.name]!;
      expect(t.shape).toEqual(want.shape);
      expect(Array.from(t.data!)).toEqual(want.values.map((v) => Math.fround(v)));
    }
    // -0 survives the conversion (Object.is distinguishes it).
    expect(Object.is(st.tensors[1]!.data![5], -0)).toBe(true);
  });

  it('round-trips F32 tensors and metadata, with an 8-byte aligned data block', () => {
    const file = path.join(tempDir(), 'rt.safetensors');
    const a = Float32Array.from({ length: 6 }, (_, i) => i * 0.25 - 1);
    const b = Float32Array.from([Math.PI, -Infinity, 1e-40]);
    writeSafetensors(
      file,
      [
        { name: 'layer.weight', shape: [2, 3], data: a },
        { name: 'layer.bias', shape: [3], data: b },
        { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
      ],
      { format: 'pt', note: 'ünïcode' },
    );
    const raw = fs.readFileSync(file);
    const headerLen = Number(raw.readBigUInt64LE(0));
    expect((8 + headerLen) % 8).toBe(0);
    const header = JSON.parse(raw.toString('utf8', 8, 8 + headerLen)) as Record<string, unknown>;
    expect(header['layer.bias']).toEqual({ dtype: 'F32', shape: [3], data_offsets: [24, 36] });
    const st = readSafetensors(file, true);
    expect(st.metadata).toEqual({ format: 'pt', note: 'ünïcode' });
    expect(Array.from(st.tensors[0]!.data!)).toEqual(Array.from(a));
    expect(Array.from(st.tensors[1]!.data!)).toEqual(Array.from(b));
    expect(st.tensors[2]!.shape).toEqual([0, 4]);
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
  });

  it('refuses a tensor whose data length does not match its shape when writing', () => {
    const file = path.join(tempDir(), 'bad.safetensors');
    expect(() => writeSafetensors(file, [{ name: 'x', shape: [2, 2], data: new Float32Array(3) }])).toThrow(
      /x\) has 3 values but shape needs 4/,
    );
  });

  it('reports unsupported dtypes by name', () => {
    const file = path.join(fixtures, 'int64.safetensors');
    expect(readSafetensors(file).tensors[0]).toMatchObject({ name: 'ids', dtype: 'I64', shape: [4] });
    expect(() => readSafetensors(file, ['ids'])).toThrow(
      /tensor 'ids' has dtype I64; only F32, F16 and BF16/,
    );
  });
});

describe('damaged weight files give errors, not crashes', () => {
  const model = path.join(tinyVit, 'model.safetensors');
  const good = fs.readFileSync(model);
  const headerLen = Number(good.readBigUInt64LE(0));

  const cases: [string, Buffer, RegExp][] = [
    ['an empty file', Buffer.alloc(0), /too short to be safetensors/],
    ['a file cut inside the length field', good.subarray(0, 5), /too short/],
    [
      'a file cut inside the header',
      good.subarray(0, 8 + Math.floor(headerLen / 2)),
      /truncated inside its header/,
    ],
    [
      'a file cut inside the data',
      good.subarray(0, good.length - 100),
      /truncated \(tensor '.*' ends past the end/,
    ],
    [
      'random bytes',
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)),
      /implausible|not valid JSON/,
    ],
    [
      'a header that is not JSON',
      Buffer.concat([Buffer.from([9, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a": [1,')]),
      /not valid JSON/,
    ],
  ];

  for (const [what, bytes, message] of cases) {
    it(`${what}: header read and model load both reject with the file name`, async () => {
      const file = path.join(tempDir(), 'damaged.safetensors');
      fs.writeFileSync(file, bytes);
      expect(() => readSafetensors(file)).toThrow(message);
      const enc = EncoderModel.create(readEncoderConfig(path.join(tinyVit, 'config.json')));
      try {
        const before = enc.getParameter('pos_embed');
        const err = await rejection(enc.loadWeights(file));
        expect(err).toBeInstanceOf(EngineError);
        expect(err.code).toBe('ERR_BAD_WEIGHTS');
        expect(err.message).toContain(file);
        expect(err.message).toMatch(message);
        expect(Array.from(enc.getParameter('pos_embed'))).toEqual(Array.from(before));
      } finally {
        enc.dispose();
      }
    });
  }

  function withHeader(header: object, dataBytes: number): Buffer {
    const text = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    return Buffer.concat([len, text, Buffer.alloc(dataBytes)]);
  }

  it('inconsistent headers (size vs shape, overlaps, negative offsets, unknown dtype) are rejected', () => {
    const dir = tempDir();
    const bad: [object, number, RegExp][] = [
      [
        { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } },
        16,
        /occupies 12 bytes but F32 \[2, 2\] needs 16/,
      ],
      [
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        16,
        /overlap/,
      ],
      [{ w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, 4, /invalid data_offsets/],
      [{ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 4] } }, 4, /unknown dtype Q4/],
      [{ w: { dtype: 'F32', shape: [1] } }, 4, /lacks dtype, shape or data_offsets/],
      [[1, 2, 3], 0, /not a JSON object/],
    ];
    for (const [i, [header, bytes, message]] of bad.entries()) {
      const file = path.join(dir, `h${i}.safetensors`);
      fs.writeFileSync(file, withHeader(header, bytes));
      expect(() => readSafetensors(file), JSON.stringify(header)).toThrow(message);
    }
  });
});

/**
 * NumPy .npy (format 1.0) for float32 matrices: what `tessera embed` writes and embedding caches use.
 * Little-endian '<f4', C order; the header is padded so the data starts on a 64-byte boundary.
 */
export function npyHeader(shape: number[]): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const header = dict + ' '.repeat(total - unpadded) + '\n';
  const out = Buffer.alloc(10 + header.length);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  return out;
}

export function encodeNpy(data: Float32Array, shape: number[]): Buffer {
  const expected = shape.reduce((a, b) => a * b, 1);
  if (expected !== data.length)
    throw new Error(`npy: shape [${shape.join(', ')}] needs ${expected} values, got ${data.length}.`);
  return Buffer.concat([npyHeader(shape), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** Reads a float32 (little-endian, C order) .npy. Throws a clear Error for anything else. */
export function decodeNpy(buf: Uint8Array, source = '<npy>'): { shape: number[]; data: Float32Array } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || b.toString('latin1', 0, 6) !== '\x93NUMPY')
    throw new Error(`${source} is not a .npy file.`);
  const major = b[6];
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = b.toString('latin1', start, start + headerLen);
  if (!/'descr':\s*'<f4'/.test(header))
    throw new Error(`${source} does not hold little-endian float32 data.`);
  if (/'fortran_order':\s*True/.test(header))
    throw new Error(`${source} is in Fortran order; only C order is read.`);
  const m = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!m) throw new Error(`${source} has no shape in its header.`);
  const shape = (m[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, c) => a * c, 1);
  const offset = start + headerLen;
  if (b.length - offset < count * 4) throw new Error(`${source} is truncated.`);
  const copy = new Float32Array(count);
  Buffer.from(copy.buffer).set(b.subarray(offset, offset + count * 4));
  return { shape, data: copy };
}

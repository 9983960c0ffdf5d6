/**
 * TIFF LZW decoder (TIFF 6.0 section 13): MSB-first codes, 9..12 bits, ClearCode 256, EOI 257,
 * with the "early change" code-width switch every TIFF writer uses. Stops cleanly at EOI, at the
 * end of input or when `expected` bytes are produced; an invalid code throws.
 */
export function decodeLzw(input: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  // Dictionary stored as (prefix code, last byte, length) so entries are never copied.
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const length = new Int32Array(4096);
  for (let i = 0; i < 256; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    length[i] = 1;
  }
  let next = 258;
  let width = 9;
  let bitPos = 0;
  const totalBits = input.length * 8;
  let outPos = 0;
  let old = -1;

  const readCode = (): number => {
    if (bitPos + width > totalBits) return 257;
    let value = 0;
    let need = width;
    let pos = bitPos;
    while (need > 0) {
      const byte = input[pos >> 3]!;
      const avail = 8 - (pos & 7);
      const take = Math.min(avail, need);
      value = (value << take) | ((byte >> (avail - take)) & ((1 << take) - 1));
      need -= take;
      pos += take;
    }
    bitPos += width;
    return value;
  };

  // Writes entry `code` at outPos; returns its first byte.
  const emit = (code: number): number => {
    const len = length[code]!;
    let c = code;
    let p = outPos + len - 1;
    let first = 0;
    while (c >= 0) {
      first = suffix[c]!;
      if (p < expected) out[p] = first;
      p--;
      c = prefix[c]!;
    }
    outPos += len;
    return first;
  };

  for (;;) {
    if (outPos >= expected) break;
    const code = readCode();
    if (code === 257) break;
    if (code === 256) {
      next = 258;
      width = 9;
      old = -1;
      continue;
    }
    if (old === -1) {
      if (code > 255) throw new Error('corrupt LZW data (bad first code)');
      emit(code);
      old = code;
      continue;
    }
    let first: number;
    if (code < next) {
      first = emit(code);
    } else if (code === next) {
      // KwKwK case: the entry is old + first byte of old.
      const start = outPos;
      const f = emit(old);
      if (outPos < expected) out[outPos] = f;
      outPos++;
      first = f;
      void start;
    } else {
      throw new Error('corrupt LZW data (code out of range)');
    }
    if (next < 4096) {
      prefix[next] = old;
      suffix[next] = first;
      length[next] = length[old]! + 1;
      next++;
    }
    if (next + 1 >= 1 << width && width < 12) width++;
    old = code;
  }
  return out;
}

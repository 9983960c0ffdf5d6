/** Undoes TIFF horizontal differencing (Predictor 2) for 8-bit samples, in place, row by row. */
export function undoHorizontalPredictor8(
  data: Uint8Array,
  width: number,
  rows: number,
  samples: number,
): void {
  const stride = width * samples;
  for (let y = 0; y < rows; y++) {
    const row = y * stride;
    for (let i = samples; i < stride; i++) data[row + i] = (data[row + i]! + data[row + i - samples]!) & 0xff;
  }
}

/**
 * The libjpeg-turbo work a request cannot avoid, as a floor for "CPU ms per request" in the slides
 * benchmark: for each request, decoding the part of every stored JPEG tile it touches (the partial decoder
 * where it was built, whole tiles otherwise) and, for Deep Zoom tiles, encoding the result at quality 75.
 * Measured on one thread with nothing else in the way (no workers, no cache, no promises), as process CPU
 * time so that other load on a shared machine does not count. A request that needs less than this is
 * served from something already decoded (a cached tile); one that needs much more pays fixed costs around
 * the codec: the gap is what the issue of fixed cost per tile is about.
 */
import { partialJpegDecoder } from '../../src-main/slides/codecs/native-pixels.js';
import { jpegCodec } from '../../src-main/slides/codecs/jpeg-codec.js';
import type { SlideReader } from '../../src-main/slides/index.js';

/** A level-0 rectangle a request reads, and the size it encodes to (none for a region read). */
export interface JpegRequest {
  x: number;
  y: number;
  w: number;
  h: number;
  encode?: { width: number; height: number };
}

interface Part {
  jpeg: Uint8Array;
  tileWidth: number;
  tileHeight: number;
  /** The part of the tile, in tile pixels. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Where it lands in the request's buffer. */
  dx: number;
  dy: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Mean libjpeg-turbo CPU ms per request over `requests` (level 0 of `reader`, stored JPEG tiles), or undefined. */
export async function jpegWorkPerRequest(
  reader: SlideReader,
  requests: JpegRequest[],
  repeats = 3,
): Promise<{ decodeMs: number; encodeMs: number } | undefined> {
  const level = reader.metadata.levels[0]!;
  if (!level.jpegTiles || !reader.storedJpegTile || !level.tileWidth || !level.tileHeight) return undefined;
  const tw = level.tileWidth;
  const th = level.tileHeight;
  const plans: { parts: Part[]; req: JpegRequest }[] = [];
  for (const req of requests) {
    const parts: Part[] = [];
    for (let ty = Math.floor(req.y / th); ty * th < req.y + req.h; ty++)
      for (let tx = Math.floor(req.x / tw); tx * tw < req.x + req.w; tx++) {
        const jpeg = await reader.storedJpegTile(0, tx, ty);
        if (!jpeg) continue;
        const x0 = Math.max(req.x, tx * tw);
        const y0 = Math.max(req.y, ty * th);
        const x1 = Math.min(req.x + req.w, (tx + 1) * tw, level.width);
        const y1 = Math.min(req.y + req.h, (ty + 1) * th, level.height);
        parts.push({
          jpeg,
          tileWidth: tw,
          tileHeight: th,
          x: x0 - tx * tw,
          y: y0 - ty * th,
          w: x1 - x0,
          h: y1 - y0,
          dx: x0 - req.x,
          dy: y0 - req.y,
        });
      }
    plans.push({ parts, req });
  }
  const partial = partialJpegDecoder();
  const codec = jpegCodec();
  const maxPixels = Math.max(
    ...requests.map((r) => Math.max(r.w * r.h, (r.encode?.width ?? 0) * (r.encode?.height ?? 0))),
  );
  const out = new Uint8Array(maxPixels * 4);
  const whole = new Uint8Array(tw * th * 4);
  let decodeMs = Infinity;
  let encodeMs = Infinity;
  // The least of a few repeats: the floor, not the noise of a shared machine.
  for (let rep = 0; rep < repeats; rep++) {
    let dec = 0;
    let enc = 0;
    for (const { parts, req } of plans) {
      const a = cpuMs();
      for (const p of parts) {
        if (partial) {
          partial.decodePart(
            p.jpeg,
            { x: p.x, y: p.y, w: p.w, h: p.h },
            out,
            (p.dy * req.w + p.dx) * 4,
            req.w * 4,
          );
        } else {
          codec.decode(p.jpeg, p.tileWidth, p.tileHeight, whole);
          for (let row = 0; row < p.h; row++)
            out.set(
              whole.subarray(
                ((p.y + row) * p.tileWidth + p.x) * 4,
                ((p.y + row) * p.tileWidth + p.x + p.w) * 4,
              ),
              ((p.dy + row) * req.w + p.dx) * 4,
            );
        }
      }
      const b = cpuMs();
      if (req.encode) {
        const { width, height } = req.encode;
        codec.encode(out.subarray(0, width * height * 4), width, height, 75);
      }
      enc += cpuMs() - b;
      dec += b - a;
    }
    decodeMs = Math.min(decodeMs, dec / plans.length);
    encodeMs = Math.min(encodeMs, enc / plans.length);
  }
  return { decodeMs, encodeMs };
}

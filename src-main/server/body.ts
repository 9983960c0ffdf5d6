/**
 * Request bodies of API calls: JSON only (a page on another origin cannot send `application/json`
 * without a CORS preflight, which this server never grants), at most MAX_BODY_BYTES. A body that is too
 * large is refused with 413 and the rest of it read and dropped, so the client gets the answer instead
 * of a connection reset.
 */
import type { IncomingMessage } from 'node:http';
import { MAX_CSV_BYTES, MAX_GEOJSON_BYTES } from '../contract/contract.js';
import type { ApiErrorCode } from '../contract/errors.js';

export const MAX_BODY_BYTES = 1 << 20;
/** The commands that carry a whole label CSV as text, which JSON escaping can double. */
const CSV_COMMANDS = new Set(['labels.previewCsv', 'labels.applyCsv']);
const MAX_CSV_BODY_BYTES = 2 * MAX_CSV_BYTES + (1 << 20);

/** GeoJSON sent as text (mostly numbers, so escaping adds little), and shapes with many vertices. */
const LARGER_LIMITS: Record<string, number> = {
  'annotations.importGeoJson': Math.ceil(1.5 * MAX_GEOJSON_BYTES) + (1 << 20),
  'annotations.edit': 64 << 20,
  'annotations.brush': 16 << 20,
};

/** The body limit of one command: 1 MiB, or room for the largest label CSV or GeoJSON where one is sent. */
export function bodyLimit(command: string): number {
  return CSV_COMMANDS.has(command) ? MAX_CSV_BODY_BYTES : (LARGER_LIMITS[command] ?? MAX_BODY_BYTES);
}
/** How much of a refused body is read and dropped before the connection is cut. */
const DISCARD_LIMIT_BYTES = 256 << 20;

export class BodyRefusal extends Error {
  constructor(
    readonly code: Extract<ApiErrorCode, 'bad-input' | 'too-large' | 'unsupported-media-type'>,
    message: string,
  ) {
    super(message);
    this.name = 'BodyRefusal';
  }
}

export function isJsonContentType(header: string | undefined): boolean {
  return (header ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
}

const tooLarge = (limit: number) =>
  new BodyRefusal('too-large', `Request body too large (the limit is ${Math.round(limit / (1 << 20))} MiB).`);

/** Reads and parses the body of a POST whose Content-Type was checked; an empty body reads as `{}`. */
export function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      discardBody(req);
      return reject(tooLarge(limit));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      req.off('end', onEnd);
      discardBody(req, size);
      reject(tooLarge(limit));
    };
    const onEnd = () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (!text.trim()) return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new BodyRefusal('bad-input', 'Request body is not valid JSON.'));
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    // The client closed the connection before the body it announced was complete.
    req.on('error', () => reject(new BodyRefusal('bad-input', 'The request body ended early.')));
  });
}

/** Reads and drops the rest of a refused body; a client still sending after DISCARD_LIMIT_BYTES is cut off. */
function discardBody(req: IncomingMessage, alreadyRead = 0): void {
  let seen = alreadyRead;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DISCARD_LIMIT_BYTES) req.socket.destroy();
  });
  req.resume();
}

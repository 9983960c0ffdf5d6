import fs from 'node:fs';
import path from 'node:path';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

export interface StaticFile {
  file: string;
  contentType: string;
}

/**
 * Maps a URL path to a file inside `root`, or null. Refuses anything that would leave `root` after
 * decoding and normalisation (`..`, encoded slashes, NUL) and symlinks pointing outside it.
 */
export function resolveStaticFile(root: string, urlPath: string): StaticFile | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const relative = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  const rootReal = fs.realpathSync(root);
  const candidate = path.resolve(rootReal, relative);
  if (candidate !== rootReal && !candidate.startsWith(rootReal + path.sep)) return null;
  let real: string;
  try {
    real = fs.realpathSync(candidate);
  } catch {
    return null;
  }
  if (!real.startsWith(rootReal + path.sep) || !fs.statSync(real).isFile()) return null;
  return { file: real, contentType: contentTypes[path.extname(real)] ?? 'application/octet-stream' };
}

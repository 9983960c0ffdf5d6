/**
 * The request target as a URL. Only the origin form (`/path?query`) is accepted; `new URL` on the raw
 * target would read `//host/...` as an authority and throw on it, so the target is appended to a fixed
 * base instead and anything else (absolute form, `*`) is refused.
 */
const BASE = 'http://tessera.invalid';

export function requestUrl(target: string | undefined): URL | null {
  if (!target?.startsWith('/')) return null;
  try {
    return new URL(BASE + target);
  } catch {
    return null;
  }
}

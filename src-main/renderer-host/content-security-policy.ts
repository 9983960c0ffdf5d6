/**
 * The one Content-Security-Policy of the renderer, sent by both shells: browser mode on every page it
 * serves, Electron on every app:// response. Scripts only from the page's own origin, no inline script,
 * no plugins, no framing; images may also come from the slide: scheme (Electron's slide pixels).
 */
export function contentSecurityPolicy(): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: slide:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

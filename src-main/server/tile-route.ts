/**
 * Browser-mode route for slide images: `/tiles/<slideId>/<level>/<col>_<row>.jpg` (Deep Zoom tiles) and
 * `/tiles/<slideId>/thumbnail.jpg`. Only slides of the open project are served; anything else is refused.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BROWSER_SLIDE_IMAGE_PREFIX, parseSlideImagePath } from '../contract/slide-image-urls.js';
import type { SlideImages } from '../viewer-pixels/slide-images.js';
import type { Route } from './server.js';

export function tileRoute(images: SlideImages): Route {
  return {
    prefix: BROWSER_SLIDE_IMAGE_PREFIX,
    async handle(req: IncomingMessage, res: ServerResponse, url: URL) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      const request = parseSlideImagePath(url.pathname.slice(BROWSER_SLIDE_IMAGE_PREFIX.length));
      const result = request ? await images.serve(request) : { status: 404 as const, message: 'Not found.' };
      if (result.status !== 200) {
        res.writeHead(result.status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(result.message);
        return;
      }
      res.writeHead(200, {
        'Content-Type': result.contentType,
        'Content-Length': result.bytes.byteLength,
        'Cache-Control': 'private, max-age=3600',
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : result.bytes);
    },
  };
}

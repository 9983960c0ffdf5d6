import { protocol } from 'electron';
import { parseSlideImagePath } from '../contract/slide-image-urls.js';
import type { SlideImages } from '../viewer-pixels/slide-images.js';

/** slide://tessera/<id>/<level>/<col>_<row>.jpg and slide://tessera/<id>/thumbnail.jpg for the viewer. */
export function serveSlideImages(images: SlideImages): void {
  protocol.handle('slide', async (request) => {
    const url = new URL(request.url);
    const parsed = url.host === 'tessera' ? parseSlideImagePath(url.pathname.replace(/^\//, '')) : null;
    const result = parsed ? await images.serve(parsed) : { status: 404 as const, message: 'Not found.' };
    if (result.status !== 200) return new Response(result.message, { status: result.status });
    return new Response(result.bytes as Uint8Array<ArrayBuffer>, {
      headers: { 'Content-Type': result.contentType, 'Cache-Control': 'private, max-age=3600' },
    });
  });
}

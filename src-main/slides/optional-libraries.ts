/**
 * The optional native libraries the slide reader uses where they are installed, each with a fallback that
 * gives the same pixels: libturbojpeg (Debian libturbojpeg0: whole JPEG tiles; else libjpeg-turbo in
 * WebAssembly), libjpeg (libjpeg62-turbo-dev at build time: partial JPEG decoding in tessera_pixels; else
 * whole tiles) and libopenslide (libopenslide0: formats the built-in reader lacks).
 *
 * TESSERA_WITHOUT hides some of them (comma-separated names, e.g. `TESSERA_WITHOUT=libturbojpeg,libjpeg`),
 * so that a machine that has them runs as one that does not: CI runs the slide tests a second time so.
 * Every loader of an optional library asks `isHidden` first.
 */
export type OptionalLibrary = 'libturbojpeg' | 'libjpeg' | 'libopenslide';

export function isHidden(library: OptionalLibrary): boolean {
  return (process.env.TESSERA_WITHOUT ?? '')
    .split(',')
    .map((name) => name.trim())
    .includes(library);
}

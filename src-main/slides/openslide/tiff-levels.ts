/**
 * OpenSlide trusts a TIFF directory's image size: a corrupt one (a directory saying 65535 x 65535 in a
 * 12 KB file, which the built-in reader refuses) opens, and every read then fails deep inside libtiff
 * while coarse views try to cover 4 gigapixels. Before such a level is used, it is checked against the
 * file: for TIFF-family files, the directory OpenSlide took each level from must have a tile (or strip)
 * table that covers the level and lies inside the file. Levels of layouts this cannot map to a directory
 * are left to OpenSlide.
 */
import { looksLikeTiff, TiffFile, type Ifd, tagNumber } from '../tiff/tiff-file.js';
import { imageSizeProblem } from '../tiff/tiff-image.js';
import { Tag } from '../tiff/tiff-tags.js';
import { openWithoutBlocking } from '../open-file.js';

/** The first level whose directory cannot hold it, as "level N (W x H): reason"; undefined when none. */
export async function tiffLevelProblem(
  path: string,
  levels: { width: number; height: number }[],
): Promise<string | undefined> {
  const handle = await openWithoutBlocking(path);
  try {
    const { size } = await handle.stat();
    const head = new Uint8Array(16);
    await handle.read(head, 0, 16, 0);
    if (!looksLikeTiff(head)) return undefined;
    let tiff: TiffFile;
    try {
      tiff = await TiffFile.parse(handle, size);
    } catch {
      return undefined; // a layout this parser does not follow (OpenSlide opened it): not ours to judge
    }
    const ifds: Ifd[] = tiff.ifds.flatMap((ifd) => [ifd, ...ifd.subIfds]);
    for (const [i, { width, height }] of levels.entries()) {
      const ifd = ifds.find(
        (d) => tagNumber(d, Tag.ImageWidth) === width && tagNumber(d, Tag.ImageLength) === height,
      );
      const problem = ifd && imageSizeProblem(ifd, size);
      if (problem) return `level ${i} (${width} x ${height}) does not fit the file: ${problem}`;
    }
    return undefined;
  } finally {
    await handle.close();
  }
}

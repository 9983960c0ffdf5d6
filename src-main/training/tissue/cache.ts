/**
 * Tissue masks kept in the project's cache, one file per slide version and detection settings:
 * cache/tissue/<fingerprint>-<settings>.mask. File: "TSTM1\n", one line of JSON (the geometry, how the mask
 * was made, and a checksum of both), then the classes (one byte per mask pixel) compressed with raw
 * deflate. A file that cannot be read, fails its checksum, or describes another slide or other settings is
 * ignored and made again.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Project } from '../../project/project.js';
import type { SlideReader } from '../../slides/index.js';
import type { SlideResolution } from '../resolution.js';
import { detectTissue, TISSUE_DEFAULTS, type TissueDetection, type TissueOptions } from './detect.js';

const MAGIC = 'TSTM1\n';
const deflateRaw = promisify(zlib.deflateRaw);
const inflateRaw = promisify(zlib.inflateRaw);

interface Header {
  fingerprint: string;
  settings: string;
  width: number;
  height: number;
  downsampleX: number;
  downsampleY: number;
  slideWidth: number;
  slideHeight: number;
  level: number;
  factor: number;
  resolution: SlideResolution;
  threshold: number;
  /** sha256 (first 16 hex digits) of the header without this field, then the classes. */
  check?: string;
}

function checksum(header: Header, classes: Uint8Array): string {
  const { check: _check, ...rest } = header;
  return createHash('sha256').update(JSON.stringify(rest)).update(classes).digest('hex').slice(0, 16);
}

/** A short key of the settings that change a mask (defaults filled in). */
export function tissueSettingsKey(options: TissueOptions = {}): string {
  const o = { ...TISSUE_DEFAULTS, defaultMpp: null as number | null, ...options };
  const canonical = JSON.stringify([
    o.maskMpp,
    o.minSaturation,
    o.maxSaturation,
    o.minTissueArea,
    o.maxHoleArea,
    o.defaultMpp,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}

export function tissueMaskPath(project: Project, fingerprint: string, options: TissueOptions = {}): string {
  const safe = fingerprint.replace(/[^A-Za-z0-9_.-]/g, '_');
  return path.join(project.dir, 'cache', 'tissue', `${safe}-${tissueSettingsKey(options)}.mask`);
}

export async function saveTissueMask(
  project: Project,
  fingerprint: string,
  detection: TissueDetection,
  options: TissueOptions = {},
): Promise<string> {
  const file = tissueMaskPath(project, fingerprint, options);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const { mask } = detection;
  const header: Header = {
    fingerprint,
    settings: tissueSettingsKey(options),
    width: mask.width,
    height: mask.height,
    downsampleX: mask.downsampleX,
    downsampleY: mask.downsampleY,
    slideWidth: mask.slideWidth,
    slideHeight: mask.slideHeight,
    level: detection.level,
    factor: detection.factor,
    resolution: detection.resolution,
    threshold: detection.threshold,
  };
  header.check = checksum(header, mask.classes);
  const body = await deflateRaw(mask.classes);
  // Written whole under another name and renamed, so a reader never sees half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, Buffer.concat([Buffer.from(MAGIC + JSON.stringify(header) + '\n'), body]));
  await fs.promises.rename(tmp, file);
  return file;
}

/** The kept mask of this slide version and settings, or undefined (none, unreadable, or another's). */
export async function loadTissueMask(
  project: Project,
  fingerprint: string,
  options: TissueOptions = {},
): Promise<TissueDetection | undefined> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(tissueMaskPath(project, fingerprint, options));
  } catch {
    return undefined;
  }
  try {
    if (bytes.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) return undefined;
    const end = bytes.indexOf(0x0a, MAGIC.length);
    if (end < 0) return undefined;
    const h = JSON.parse(bytes.subarray(MAGIC.length, end).toString('utf8')) as Header;
    if (h.fingerprint !== fingerprint || h.settings !== tissueSettingsKey(options)) return undefined;
    const classes = new Uint8Array(await inflateRaw(bytes.subarray(end + 1)));
    if (!(h.width > 0 && h.height > 0) || classes.length !== h.width * h.height) return undefined;
    if (h.check !== checksum(h, classes)) return undefined;
    return {
      mask: {
        width: h.width,
        height: h.height,
        downsampleX: h.downsampleX,
        downsampleY: h.downsampleY,
        classes,
        slideWidth: h.slideWidth,
        slideHeight: h.slideHeight,
      },
      level: h.level,
      factor: h.factor,
      resolution: h.resolution,
      threshold: h.threshold,
    };
  } catch {
    return undefined;
  }
}

/**
 * The slide's tissue mask from the project's cache, or detected now (on `reader`) and kept. `reader` is a
 * function so that a cached mask does not open the slide.
 */
export async function projectTissueMask(
  project: Project,
  fingerprint: string,
  reader: () => Promise<SlideReader>,
  options: TissueOptions = {},
): Promise<TissueDetection & { cached: boolean }> {
  const kept = await loadTissueMask(project, fingerprint, options);
  if (kept) return { ...kept, cached: true };
  const detection = await detectTissue(await reader(), options);
  await saveTissueMask(project, fingerprint, detection, options);
  return { ...detection, cached: false };
}

/**
 * What a project keeps in its cache per slide file (by fingerprint, not by slide id), for removing slides:
 * the services that write these files live above the project layer, so the list is made here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { heatmapPath } from '../inference/heatmap-raster.js';
import type { Project } from '../project/project.js';
import { tissueMaskPath, tissueSettingsKey } from '../training/tissue/cache.js';

/** The cache files kept per slide file (fingerprint): tissue masks (one per tissue setting) and heatmap rasters (one per model). */
export function slideFileCaches(project: Project, fingerprint: string): string[] {
  const mask = tissueMaskPath(project, fingerprint);
  const maskPrefix = path.basename(mask).slice(0, -`${tissueSettingsKey()}.mask`.length);
  const heatmaps = path.join(project.dir, 'cache', 'heatmaps');
  const list = (dir: string): string[] => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  };
  return [
    ...list(path.dirname(mask))
      .filter(
        (name) =>
          name.length === path.basename(mask).length && name.startsWith(maskPrefix) && name.endsWith('.mask'),
      )
      .map((name) => path.join(path.dirname(mask), name)),
    ...list(heatmaps).map((modelKey) => heatmapPath(project.dir, modelKey, fingerprint)),
  ];
}

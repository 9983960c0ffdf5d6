/**
 * Removing slides from a project: their rows go in one transaction (labels with them, each leaving a
 * history row marked slide-removed; cohort memberships; patients left with no slide), then their cache
 * files. The slide files themselves are never touched. Stored splits keep their member lists, and removed
 * ids are never given to a new slide.
 */
import fs from 'node:fs';
import type { Db } from '../db/connection.js';
import { thumbnailPath } from './import.js';
import { withWriteReason } from './labels-repo.js';
import { deleteOrphanPatients } from './patients-repo.js';
import type { Project } from './project.js';
import { reducedCopyPath } from './reduced-copies.js';
import { raiseHighWater } from './row-ids-repo.js';
import { deleteSlideRow } from './slides-repo.js';

export function removeSlides(
  project: Project,
  slideIds: number[],
): { removed: number; cacheFilesRemoved: number } {
  const db: Db = project.db;
  const removed = db.transaction(() =>
    withWriteReason(db, 'slide-removed', () => {
      const gone: number[] = [];
      for (const id of slideIds) if (deleteSlideRow(db, id)) gone.push(id);
      if (gone.length) raiseHighWater(db, 'slides', Math.max(...gone));
      deleteOrphanPatients(db);
      return gone;
    }),
  )();
  let cacheFilesRemoved = 0;
  for (const id of removed) {
    for (const file of [thumbnailPath(project, id), reducedCopyPath(project, id)]) {
      try {
        fs.unlinkSync(file);
        cacheFilesRemoved++;
      } catch {
        // Not made for this slide (or already gone): nothing to remove.
      }
    }
  }
  return { removed: removed.length, cacheFilesRemoved };
}

/**
 * Opening a project for a command that only reads (tasks list, labels export, cohorts list): read-only,
 * so nothing in the folder changes, with openProject's refusals of files that are not Tessera projects.
 * A project written by an older Tessera is opened normally (migrated, after its backup), since the older
 * schema lacks the tables these commands read.
 */
import { latestVersion } from '../db/migrate.js';
import { openProject, type Project } from '../project/project.js';

export async function openProjectForReading(dir: string): Promise<Project> {
  const project = await openProject(dir, { readOnly: true });
  if ((project.db.pragma('user_version', { simple: true }) as number) === latestVersion()) return project;
  project.close();
  return openProject(dir);
}

import fs from 'node:fs';
import path from 'node:path';
import { createProject, databasePath } from '../project/project.js';

export const DEMO_PROJECT_NAME = 'Demo project';

/** The built-in demo project in the user-data folder, created on first use; returns its folder. */
export async function ensureDemoProject(userDataDir: string): Promise<string> {
  const dir = path.join(userDataDir, 'demo-project');
  if (!fs.existsSync(databasePath(dir))) {
    const project = await createProject(dir, DEMO_PROJECT_NAME);
    project.close();
  }
  return dir;
}

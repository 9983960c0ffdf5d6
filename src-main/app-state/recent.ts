import fs from 'node:fs';
import path from 'node:path';
import type { RecentProject } from '../contract/contract.js';
import { databasePath } from '../project/project.js';
import { log } from '../log.js';

const MAX_RECENT = 20;

interface StoredRecent {
  dir: string;
  name: string;
  openedAt: string;
}

/** Recently opened projects, newest first, kept as JSON in the user-data folder. */
export class RecentProjects {
  private readonly file: string;

  constructor(userDataDir: string) {
    this.file = path.join(userDataDir, 'recent-projects.json');
  }

  list(): RecentProject[] {
    return this.read().map((r) => ({ ...r, exists: fs.existsSync(databasePath(r.dir)) }));
  }

  remember(dir: string, name: string): void {
    const rest = this.read().filter((r) => r.dir !== dir);
    this.write([{ dir, name, openedAt: new Date().toISOString() }, ...rest].slice(0, MAX_RECENT));
  }

  forget(dir: string): void {
    this.write(this.read().filter((r) => r.dir !== path.resolve(dir)));
  }

  private read(): StoredRecent[] {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(this.file, 'utf8'));
      if (!Array.isArray(parsed)) return [];
      return parsed.filter(
        (r): r is StoredRecent =>
          !!r && typeof r.dir === 'string' && typeof r.name === 'string' && typeof r.openedAt === 'string',
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`ignoring unreadable ${this.file}`, err);
      return [];
    }
  }

  private write(list: StoredRecent[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    // Write-then-rename so a crash never leaves half a file.
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(list, null, 2));
    fs.renameSync(tmp, this.file);
  }
}

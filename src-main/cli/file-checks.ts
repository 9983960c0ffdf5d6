/**
 * Paths given on the command line, checked before any work starts, and file-system errors turned into
 * one sentence that names the path (instead of a raw `EISDIR: illegal operation on a directory, open …`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './errors.js';

/** The file an `-o` option names must be writable as a file: not a folder, and its folder must exist. */
export function checkOutputFile(file: string, option = '-o'): void {
  const stat = statOrNull(file);
  if (stat?.isDirectory()) {
    throw new UsageError(`${option} ${file} is a folder; give the path of the file to write.`);
  }
  const dir = path.dirname(path.resolve(file));
  const dirStat = statOrNull(dir);
  if (!dirStat) throw new UsageError(`${option} ${file}: the folder ${dir} does not exist; create it first.`);
  if (!dirStat.isDirectory()) throw new UsageError(`${option} ${file}: ${dir} is a file, not a folder.`);
}

/** Commands whose -o names a folder to write (checked by checkOutputFolder instead of checkOutputFile). */
export const folderOutputCommands = new WeakSet<object>();

/**
 * A folder to write: its parent must exist; an existing one is refused unless `replaceable(folder)` says it
 * holds an earlier output of the same command (so nothing else is ever replaced).
 */
export function checkOutputFolder(
  folder: string,
  replaceable: (dir: string) => boolean,
  option = '-o',
): void {
  const stat = statOrNull(folder);
  if (stat && !stat.isDirectory())
    throw new UsageError(`${option} ${folder} is a file; give the path of a folder to write.`);
  if (stat && fs.readdirSync(folder).length > 0 && !replaceable(folder))
    throw new UsageError(`${option} ${folder} already holds other files; give a new folder.`);
  const dir = path.dirname(path.resolve(folder));
  const dirStat = statOrNull(dir);
  if (!dirStat)
    throw new UsageError(`${option} ${folder}: the folder ${dir} does not exist; create it first.`);
}

/** A file an option or argument names must exist and be a file. `what` names it, e.g. `--config`. */
export function checkInputFile(file: string, what: string, hint = ''): void {
  const stat = statOrNull(file);
  if (!stat) throw new UsageError(`${what} ${file} does not exist.`);
  if (stat.isDirectory()) throw new UsageError(`${what} ${file} is a folder, not a file${hint}.`);
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

const fsReasons: Record<string, string> = {
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'the disk is full',
  EROFS: 'the file system is read-only',
  EEXIST: 'it already exists',
};

/** One sentence for a file-system error that escaped a command, or null when `err` is not one. */
export function describeFsError(err: unknown): string | null {
  if (!(err instanceof Error) || !('code' in err) || !('path' in err)) return null;
  const { code, path: file } = err as NodeJS.ErrnoException;
  if (typeof code !== 'string' || typeof file !== 'string') return null;
  if (code === 'ENOENT') {
    const dir = path.dirname(path.resolve(file));
    return fs.existsSync(dir)
      ? `Cannot use ${file}: it does not exist.`
      : `Cannot use ${file}: the folder ${dir} does not exist.`;
  }
  const reason = fsReasons[code];
  return reason ? `Cannot use ${file}: ${reason}.` : null;
}

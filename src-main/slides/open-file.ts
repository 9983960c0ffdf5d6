import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * Opens a file for reading without waiting on it: a FIFO named like a slide would block an ordinary open
 * until something writes to it (the caller then refuses what fstat says is not a regular file).
 * O_NONBLOCK changes nothing for regular files.
 */
export function openWithoutBlocking(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
}

/** Small zod pieces the contract's files share (not re-exported: they are schema plumbing). */
import { z } from 'zod';

/** A row id. */
export const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const shortText = (what: string, max = 200) =>
  z
    .string({ error: `${what} is required` })
    .trim()
    .min(1, `${what} is empty`)
    .max(max, `${what} is longer than ${max} characters`)
    .refine((s) => !s.includes('\0'), `${what} contains a NUL character`);
export const folderPath = z
  .string({ error: 'a folder path is required' })
  .trim()
  .min(1, 'the folder path is empty')
  .max(4096)
  .refine((p) => !p.includes('\0'), 'the folder path contains a NUL character');

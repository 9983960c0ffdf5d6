/**
 * What to tell a user when a built part of Tessera (the renderer, a native addon) is missing. In a
 * source checkout the developer command that builds it helps; an installed app cannot run npm or
 * node-gyp, so there the fix is to reinstall. A source checkout is recognised by its sources beside
 * package.json, which no package (electron-builder's files list) ships.
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from './package-root.js';

export function isSourceCheckout(root = packageRoot()): boolean {
  return fs.existsSync(path.join(root, 'src-main')) && fs.existsSync(path.join(root, 'package.json'));
}

/** The end of a sentence saying how to get the missing part back: `; build it with `cmd`` or `; reinstall …`. */
export function buildHint(developerCommand: string, root?: string): string {
  return isSourceCheckout(root)
    ? `; build it with \`${developerCommand}\``
    : '; this installation of Tessera is incomplete: reinstall it';
}

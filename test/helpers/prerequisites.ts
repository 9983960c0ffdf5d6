/**
 * What tests need beyond npm packages: Debian tools, Python modules, the shared scanner slides beside
 * the checkout. A test asks here whether one is present. Outside CI a missing one lets the test skip, and
 * it is recorded for the list printed at the end of the run (skip-reporter.ts); in CI (CI=true) it
 * throws instead, so a run without its prerequisites fails rather than passing with tests left out.
 * No vitest imports: the e2e specs (WebdriverIO) use it too.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the reporter wants missing prerequisites written, one JSON line each. */
export const MISSING_LOG_ENV = 'TESSERA_TEST_MISSING_LOG';

export function inCI(): boolean {
  return /^(1|true|yes)$/i.test(process.env.CI ?? '');
}

export class MissingPrerequisiteError extends Error {
  constructor(name: string, howToGet: string) {
    super(
      `Test prerequisite ${name} is missing (${howToGet}). CI=true: a missing prerequisite fails the run instead of skipping its tests.`,
    );
    this.name = 'MissingPrerequisiteError';
  }
}

const known = new Map<string, boolean>();

/**
 * Whether `name` is present (`check` runs once per process). Missing: throws in CI, otherwise records
 * it and returns false for the caller to skip.
 */
export function prerequisite(name: string, howToGet: string, check: () => boolean): boolean {
  let present = known.get(name);
  if (present === undefined) {
    present = check();
    known.set(name, present);
    if (!present && !inCI()) {
      const log = process.env[MISSING_LOG_ENV];
      if (log) fs.appendFileSync(log, JSON.stringify({ name, howToGet }) + '\n');
    }
  }
  if (!present && inCI()) throw new MissingPrerequisiteError(name, howToGet);
  return present;
}

/** The Debian package that installs each command line tool the tests run. */
const debianPackages: Record<string, string> = {
  vips: 'libvips-tools',
  tiffcp: 'libtiff-tools',
  'openslide-write-png': 'openslide-tools',
  'openslide-show-properties': 'openslide-tools',
};

/** A command line tool on PATH (it starts; its exit status does not matter). */
export function tool(command: string): boolean {
  const pkg = debianPackages[command];
  return prerequisite(command, pkg ? `apt-get install ${pkg}` : `install ${command}`, () => {
    const run = spawnSync(command, ['--version'], { stdio: 'ignore', timeout: 30_000 });
    return !run.error;
  });
}

/** Debian's own Python (/usr/bin/python3, not a python3 earlier on PATH) with `module` importable. */
export function pythonModule(module: string, debianPackage: string): boolean {
  return prerequisite(`Python module ${module}`, `apt-get install ${debianPackage}`, () => {
    const run = spawnSync('/usr/bin/python3', ['-c', `import ${module}`], {
      stdio: 'ignore',
      timeout: 60_000,
    });
    return run.status === 0;
  });
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The real scanner slides beside the checkout (../shared/data/wsi): the one place tests find them. */
export function sharedWsiDir(): string | null {
  const dir = path.resolve(repoRoot, '..', 'shared', 'data', 'wsi');
  const present = prerequisite('../shared/data/wsi', `the shared scanner slides, expected in ${dir}`, () =>
    fs.existsSync(path.join(dir, 'CMU-1-Small-Region.svs')),
  );
  return present ? dir : null;
}

/**
 * electron-builder.yml is checked by electron-builder's own schema validation (packaging itself needs
 * downloads this machine does not allow), and keeps what the app needs at run time outside the asar archive.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const require = createRequire(import.meta.url);
const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
  validateConfiguration(config: object, logger: object): Promise<void>;
};
// The YAML parser electron-builder reads this file with.
const yaml = require('js-yaml') as { load(text: string): unknown };
const logger = { isEnabled: false, add() {} };
const config = yaml.load(fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as {
  files: string[];
  asarUnpack: string[];
  deb: { recommends: string[] };
  mac: { target: { target: string; arch: string[] }[] };
  win: { target: { target: string; arch: string[] }[] };
};

describe('electron-builder.yml', () => {
  it('passes electron-builder’s validation, which refuses unknown keys', async () => {
    await expect(validateConfiguration(config, logger)).resolves.toBeUndefined();
    await expect(validateConfiguration({ ...config, deb: { recommendz: [] } }, logger)).rejects.toThrow(
      /does not match the API schema/,
    );
  });

  it('ships the native addons and the decode workers as files, and recommends the libraries used at run time', () => {
    expect(config.files).toContain('native/build/Release/*.node');
    expect(config.asarUnpack).toEqual(
      expect.arrayContaining(['**/*.node', 'out/main/slides/worker/**', 'node_modules/koffi/**']),
    );
    expect(config.deb.recommends).toEqual(
      expect.arrayContaining(['libjpeg62-turbo', 'libturbojpeg0', 'libopenslide0']),
    );
  });

  it('builds macOS and Windows packages for arm64 (Apple silicon, Windows on Arm) as well as x64', () => {
    expect(config.mac.target).toEqual([{ target: 'dmg', arch: ['x64', 'arm64'] }]);
    expect(config.win.target).toEqual([{ target: 'nsis', arch: ['x64', 'arm64'] }]);
  });
});

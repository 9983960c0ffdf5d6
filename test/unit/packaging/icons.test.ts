/**
 * The icons and desktop entry electron-builder.yml packages: every icon it names exists as a PNG of the
 * size electron-builder needs (the build icon at least 512 px, square; the Linux set NxN.png at N x N,
 * 16 to 512), and the [Desktop Entry] electron-builder writes from this config (computed by its own
 * LinuxTargetHelper) names the icon, the categories and the window class of the app.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(text: string): unknown };

interface BuilderConfig {
  icon: string;
  directories: { buildResources: string };
  linux: { icon: string; category: string; desktop: { entry: Record<string, string> } };
}
const config = yaml.load(fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;

/** Width and height from a PNG's IHDR chunk; throws on anything that is not a PNG. */
function pngSize(file: string): { width: number; height: number } {
  const head = fs.readFileSync(file).subarray(0, 24);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!head.subarray(0, 8).equals(signature) || head.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error(`${file} is not a PNG`);
  }
  return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
}

describe('app icons', () => {
  it('has the SVG source and a square build icon of at least 512 px', () => {
    expect(config.directories.buildResources).toBe('resources');
    expect(fs.existsSync(path.join(root, 'resources', 'icon.svg'))).toBe(true);
    const { width, height } = pngSize(path.join(root, config.icon));
    expect(width).toBe(height);
    expect(width).toBeGreaterThanOrEqual(512);
  });

  it('has the Linux icon set: NxN.png at N x N pixels, 16 to 512', () => {
    const dir = path.join(root, config.linux.icon);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.png'));
    const sizes = files.map((f) => Number(/^(\d+)x\1\.png$/.exec(f)?.[1])).sort((a, b) => a - b);
    expect(sizes).toEqual([16, 24, 32, 48, 64, 128, 256, 512]);
    for (const size of sizes) {
      expect(pngSize(path.join(dir, `${size}x${size}.png`)), `${size}x${size}.png`).toEqual({
        width: size,
        height: size,
      });
    }
  });
});

describe('Linux desktop entry', () => {
  it('is what electron-builder writes from this config', async () => {
    const { AppInfo } = require('app-builder-lib/out/appInfo') as {
      AppInfo: new (info: object, buildVersion: string | null, options: object) => object;
    };
    const { LinuxTargetHelper } = require('app-builder-lib/out/targets/LinuxTargetHelper') as {
      LinuxTargetHelper: new (packager: object) => {
        computeDesktopEntry(options: object, exec?: string): Promise<string> | string;
      };
    };
    const info = { metadata: pkg, config };
    // The fields of electron-builder's LinuxPackager that computing the entry reads.
    const packager = {
      appInfo: new AppInfo(info, null, config.linux),
      info,
      config,
      platformSpecificBuildOptions: config.linux,
      fileAssociations: [],
      executableName: 'tessera',
    };
    const text = await new LinuxTargetHelper(packager).computeDesktopEntry(config.linux);
    const entry = Object.fromEntries(
      text
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(text.startsWith('[Desktop Entry]\n')).toBe(true);
    expect(entry).toMatchObject({
      Name: 'Tessera',
      GenericName: 'Pathology Workstation',
      Type: 'Application',
      Terminal: 'false',
      Icon: 'tessera',
      StartupWMClass: 'tessera',
      Categories: 'Science;MedicalSoftware;',
    });
    expect(entry.Comment).toMatch(/computational pathology/);
    expect(entry.Keywords).toMatch(/^pathology;.*WSI;.*;$/);
    expect(entry.Exec).toMatch(/^\/opt\/Tessera\/tessera %U$/);
    // The window's app id (Electron reads package.json's desktopName) matches the entry.
    expect(pkg.desktopName).toBe(`${entry.StartupWMClass}.desktop`);
  });
});

#!/usr/bin/env node
// Renders resources/icon.svg into the PNGs electron-builder packages: resources/icon.png (1024 px, the
// build icon macOS and Windows convert from) and the Linux icon set resources/icons/NxN.png. The PNGs are
// committed; run this (it needs `vips`, Debian's libvips-tools) after changing the SVG.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const resources = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'resources');
const svg = path.join(resources, 'icon.svg');
const SVG_SIZE = 1024; // the SVG's own width and height
const LINUX_ICON_SIZES = [16, 24, 32, 48, 64, 128, 256, 512];

function render(size, out) {
  // svgload renders at the requested scale (sharp edges at every size, not a downscaled bitmap).
  execFileSync('vips', ['pngsave', `${svg}[scale=${size / SVG_SIZE}]`, out, '--strip', '--compression', '9']);
}

fs.mkdirSync(path.join(resources, 'icons'), { recursive: true });
render(SVG_SIZE, path.join(resources, 'icon.png'));
for (const size of LINUX_ICON_SIZES) render(size, path.join(resources, 'icons', `${size}x${size}.png`));
console.log(`wrote resources/icon.png and ${LINUX_ICON_SIZES.length} sizes in resources/icons/`);

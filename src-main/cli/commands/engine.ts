/**
 * Engine commands. `tessera embed` turns image patches into an N x D float32 .npy (one row per image, in
 * the order given) with a timm ViT described by a Hub-style config.json and safetensors weights: what
 * timm's model with num_classes=0 returns for the same, identically prepared, pixels.
 */
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { EncoderModel, engineCudaInfo, readEncoderConfig, setEngineThreads } from '../../engine/model.js';
import { npyHeader } from '../../engine/npy.js';
import { loadPatch } from '../../engine/patches.js';
import { SLIDE_EXTENSIONS } from '../../project/import.js';
import { parseIntegerOption, UsageError } from '../errors.js';
import { checkInputFile } from '../file-checks.js';
import type { CliIo } from '../index.js';

interface EmbedOptions {
  config: string;
  weights?: string;
  output: string;
  chunkSize: string;
  batch: string;
  threads?: string;
  randomInit?: string;
  device: string;
  quiet?: boolean;
}

export function register(program: Command, io: CliIo): void {
  program
    .command('embed')
    .description('embed image patches with a ViT encoder and write an N x D float32 .npy (one row per image)')
    .argument(
      '<images...>',
      'image files (PNG, JPEG, TIFF, WebP...); resized to the model input size if needed',
    )
    .requiredOption('--config <file>', 'timm config.json (architecture, model_args, pretrained_cfg)')
    .option('--weights <file>', 'safetensors weights (default: model.safetensors next to the config)')
    .requiredOption('-o, --output <file>', 'the .npy to write')
    .option('--chunk-size <n>', 'patches per encoder chunk (0: the most that fits free GPU memory)', '32')
    .option('--batch <n>', 'images decoded and embedded at a time', '256')
    .option('--threads <n>', 'CPU threads for the engine (default: all cores)')
    .option('--random-init <seed>', 'use seeded random weights instead of a weights file (for testing)')
    .option('--device <device>', 'auto (the GPU when one is usable, else the CPU), cpu or cuda', 'auto')
    .option('-q, --quiet', 'no progress on stderr')
    .action(async (images: string[], opts: EmbedOptions) => {
      const chunkSize = parseIntegerOption('--chunk-size', opts.chunkSize, 0, 65536);
      if (!['auto', 'cpu', 'cuda'].includes(opts.device))
        throw new UsageError(`--device must be auto, cpu or cuda, not "${opts.device}".`);
      const batch = parseIntegerOption('--batch', opts.batch, 1, 1 << 20);
      if (opts.threads !== undefined)
        setEngineThreads(parseIntegerOption('--threads', opts.threads, 1, 1024));
      const configInFolder = path.join(opts.config, 'config.json');
      checkInputFile(
        opts.config,
        '--config',
        fs.existsSync(configInFolder) ? `; give ${configInFolder}` : "; give the model's config.json",
      );
      if (opts.weights) checkInputFile(opts.weights, '--weights', '; give the .safetensors file');
      for (const image of images) checkPatchFile(image);
      const spec = readEncoderConfig(opts.config);

      let model: EncoderModel;
      if (opts.randomInit !== undefined) {
        if (opts.weights) throw new UsageError('--random-init and --weights exclude each other.');
        model = EncoderModel.create(spec, parseIntegerOption('--random-init', opts.randomInit, 0));
      } else {
        const weights = opts.weights ?? path.join(path.dirname(opts.config), 'model.safetensors');
        if (!fs.existsSync(weights)) {
          throw new UsageError(
            opts.weights
              ? `--weights ${weights} does not exist.`
              : `No --weights given and ${weights} does not exist.`,
          );
        }
        model = EncoderModel.create(spec);
        try {
          await model.loadWeights(weights);
        } catch (err) {
          model.dispose();
          throw err;
        }
      }

      const device = opts.device === 'auto' ? (engineCudaInfo().available ? 'cuda' : 'cpu') : opts.device;
      try {
        model.setDevice(device as 'cpu' | 'cuda');
      } catch (err) {
        model.dispose();
        throw err;
      }

      const dim = model.outputDim;
      const size = spec.inputSize;
      const tmp = `${opts.output}.tmp`;
      const fd = fs.openSync(tmp, 'w');
      let open = true;
      try {
        fs.writeSync(fd, npyHeader([images.length, dim]));
        for (let start = 0; start < images.length; start += batch) {
          const files = images.slice(start, start + batch);
          const pixels = new Uint8Array(files.length * size * size * 3);
          for (let i = 0; i < files.length; i++) {
            const file = files[i] as string;
            pixels.set(
              await loadPatch(file, { size, interpolation: spec.interpolation }),
              i * size * size * 3,
            );
          }
          const rows = await model.embed(pixels, files.length, { chunkSize });
          fs.writeSync(fd, Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength));
          if (!opts.quiet) io.err(`embedded ${start + files.length}/${images.length}\n`);
        }
        fs.closeSync(fd);
        open = false;
        fs.renameSync(tmp, opts.output);
      } catch (err) {
        if (open) fs.closeSync(fd);
        fs.rmSync(tmp, { force: true });
        throw err;
      } finally {
        model.dispose();
      }
      io.out(`Wrote ${images.length} x ${dim} embeddings to ${opts.output}\n`);
    });
}

/** Whole-slide formats: a patch is never stored in one. (.tif/.tiff may be either; loadPatch bounds their size.) */
const WHOLE_SLIDE_ONLY = SLIDE_EXTENSIONS.filter((ext) => ext !== '.tif' && ext !== '.tiff');

function checkPatchFile(file: string): void {
  if (WHOLE_SLIDE_ONLY.includes(path.extname(file).toLowerCase())) {
    throw new UsageError(
      `${file} is a whole-slide image, not an image patch; embed patches cut from it (e.g. with \`tessera slide region\`).`,
    );
  }
  checkInputFile(file, 'Image');
}

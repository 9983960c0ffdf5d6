/**
 * Keeps slide readers open by path (an LRU of open files, so a viewer or the tile route never pays
 * for re-parsing a slide), with one Deep Zoom generator per open slide. Concurrent opens of the same
 * path share one open.
 */
import path from 'node:path';
import type { SlideReader } from './types.js';
import { defaultRegistry, type SlideRegistry } from './registry.js';
import { deepZoomFor, type DeepZoom, type DeepZoomOptions } from './deepzoom.js';

interface OpenSlideEntry {
  reader: Promise<SlideReader>;
  deepZoom?: DeepZoom;
}

export interface SlideServiceOptions {
  /** Maximum number of slide files kept open (default 16). */
  maxOpen?: number;
  registry?: SlideRegistry;
  deepZoom?: DeepZoomOptions;
}

export class SlideService {
  private open = new Map<string, OpenSlideEntry>();
  private readonly maxOpen: number;
  private readonly registry: SlideRegistry;

  constructor(private options: SlideServiceOptions = {}) {
    this.maxOpen = options.maxOpen ?? 16;
    this.registry = options.registry ?? defaultRegistry();
  }

  /** The open reader for `file` (opened on first use). Rejects with a SlideError. */
  reader(file: string): Promise<SlideReader> {
    return this.entry(file).reader;
  }

  /** The Deep Zoom generator for `file`, tile grid chosen per slide (see deepZoomFor). */
  async deepZoom(file: string): Promise<DeepZoom> {
    const entry = this.entry(file);
    const reader = await entry.reader;
    entry.deepZoom ??= deepZoomFor(reader, this.options.deepZoom);
    return entry.deepZoom;
  }

  async closeSlide(file: string): Promise<void> {
    const key = path.resolve(file);
    const entry = this.open.get(key);
    if (!entry) return;
    this.open.delete(key);
    await closeQuietly(entry);
  }

  async closeAll(): Promise<void> {
    const entries = [...this.open.values()];
    this.open.clear();
    await Promise.all(entries.map(closeQuietly));
  }

  get openCount(): number {
    return this.open.size;
  }

  private entry(file: string): OpenSlideEntry {
    const key = path.resolve(file);
    let entry = this.open.get(key);
    if (entry) {
      this.open.delete(key);
      this.open.set(key, entry);
      return entry;
    }
    entry = { reader: this.registry.open(key) };
    const created = entry;
    this.open.set(key, created);
    // A failed open is not kept, so a fixed file can be retried; only a successful open can push
    // the least recently used slide out.
    created.reader.then(
      () => this.evict(),
      () => {
        if (this.open.get(key) === created) this.open.delete(key);
      },
    );
    return entry;
  }

  private evict(): void {
    while (this.open.size > this.maxOpen) {
      const [oldest, old] = this.open.entries().next().value as [string, OpenSlideEntry];
      this.open.delete(oldest);
      void closeQuietly(old);
    }
  }
}

async function closeQuietly(entry: OpenSlideEntry): Promise<void> {
  try {
    await (await entry.reader).close();
  } catch {
    // the open failed or the reader is already closed: nothing to release
  }
}

/**
 * Keeps slide readers open by path (an LRU of open files, so a viewer or the tile route never pays
 * for re-parsing a slide), with one Deep Zoom generator per open slide. Concurrent opens of the same
 * path share one open. Work done through `withReader` / `withDeepZoom` holds a lease: a slide is never
 * closed under a running request (eviction passes it over; closeSlide and closeAll wait for it).
 */
import path from 'node:path';
import type { SlideReader } from './types.js';
import { defaultRegistry, type SlideRegistry } from './registry.js';
import { deepZoomFor, type DeepZoom, type DeepZoomOptions } from './deepzoom.js';

interface OpenSlideEntry {
  reader: Promise<SlideReader>;
  deepZoom?: DeepZoom;
  /** Requests running on this slide now. */
  leases: number;
  /** Waiters for the last lease to end. */
  idle: (() => void)[];
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

  /** Runs `use` with the open reader; the slide stays open until it settles. */
  withReader<T>(file: string, use: (reader: SlideReader) => Promise<T>): Promise<T> {
    return this.lease(file, (entry) => entry.reader.then(use));
  }

  /** Runs `use` with the slide's Deep Zoom generator; the slide stays open until it settles. */
  withDeepZoom<T>(file: string, use: (deepZoom: DeepZoom) => Promise<T>): Promise<T> {
    return this.lease(file, async (entry) => {
      const reader = await entry.reader;
      entry.deepZoom ??= deepZoomFor(reader, this.options.deepZoom);
      return use(entry.deepZoom);
    });
  }

  private async lease<T>(file: string, use: (entry: OpenSlideEntry) => Promise<T>): Promise<T> {
    const entry = this.entry(file);
    entry.leases++;
    try {
      return await use(entry);
    } finally {
      if (--entry.leases === 0) {
        for (const wake of entry.idle.splice(0)) wake();
        this.evict();
      }
    }
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
    entry = { reader: this.registry.open(key), leases: 0, idle: [] };
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

  /**
   * Closes least recently used slides beyond maxOpen, passing over those with running requests and the
   * most recently used one (just handed out).
   */
  private evict(): void {
    if (this.open.size <= this.maxOpen) return; // the common case: every request's lease ends here
    const newest = [...this.open.keys()].pop();
    for (const [key, entry] of this.open) {
      if (this.open.size <= this.maxOpen) return;
      if (entry.leases > 0 || key === newest) continue;
      this.open.delete(key);
      void closeQuietly(entry);
    }
  }
}

async function closeQuietly(entry: OpenSlideEntry): Promise<void> {
  if (entry.leases > 0) await new Promise<void>((resolve) => entry.idle.push(resolve));
  try {
    await (await entry.reader).close();
  } catch {
    // the open failed or the reader is already closed: nothing to release
  }
}

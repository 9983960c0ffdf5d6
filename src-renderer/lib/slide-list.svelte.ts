/**
 * The project's slides as the Library lists them, a page at a time. The Library shows this list and the
 * Viewer's strip walks it, so both agree on what "next slide" means.
 */
import type { SlideSummary } from '../../src-main/contract/contract.js';
import { call } from './api.js';
import { reporting } from './errors.svelte.js';

const PAGE = 500;

class SlideListStore {
  slides = $state<SlideSummary[]>([]);
  total = $state(0);
  /** False until the first page of the current project arrived (or failed). */
  loaded = $state(false);
  loadingMore = $state(false);
  private generation = 0;
  private loadedFor: string | null = null;

  /** Loads the first page for this project unless it is already loaded for it. */
  async ensure(projectDir: string): Promise<void> {
    if (this.loadedFor === projectDir) return;
    await this.reload(projectDir);
  }

  /** Loads the first page again (a project opened, an import finished). */
  async reload(projectDir: string): Promise<void> {
    const generation = ++this.generation;
    this.loadedFor = projectDir;
    if (this.slides.length === 0) this.loaded = false;
    const page = await reporting(() => call('slides.list', { offset: 0, limit: PAGE }));
    if (generation !== this.generation) return;
    this.slides = page?.slides ?? [];
    this.total = page?.total ?? 0;
    this.loaded = true;
  }

  async showMore(): Promise<void> {
    const generation = this.generation;
    this.loadingMore = true;
    const page = await reporting(() => call('slides.list', { offset: this.slides.length, limit: PAGE }));
    if (page && generation === this.generation) {
      this.slides = [...this.slides, ...page.slides];
      this.total = page.total;
    }
    this.loadingMore = false;
  }

  /** Forgets the list (the project closed or changed). */
  clear(): void {
    this.generation++;
    this.loadedFor = null;
    this.slides = [];
    this.total = 0;
    this.loaded = false;
  }

  indexOf(id: number): number {
    return this.slides.findIndex((s) => s.id === id);
  }
}

export const slideList = new SlideListStore();

/**
 * The Library's current list (a filter and a sort over the project's slides) as the table and the Viewer
 * see it: every matching id in order (for Shift-ranges, J/K and the position "12 of 340") and the rows
 * themselves, fetched a page at a time as they scroll into view, so 20,000 slides cost a few pages.
 * Changes anywhere (this window, another window, the CLI's import through the server) arrive as
 * onLibraryChanged: rows on screen are fetched again, and the id list only when the change can reorder it.
 */
import type { LibrarySlide } from '../../src-main/contract/contract.js';
import { call, onResync } from './api.js';
import { reporting } from './errors.svelte.js';
import { followLibraryChanges, type MergedChange } from './library-changes.js';
import { changeReordersList, defaultQuery, sameQuery, type ListQuery } from './list-query.js';
import { pagesOf, type RowRange } from './virtual-rows.js';

export const PAGE_SIZE = 100;
const FETCH_EVERY_MS = 50;

class LibraryListStore {
  query = $state.raw<ListQuery>(defaultQuery());
  /** Every slide of the list in order; empty until `idsReady`. */
  ids = $state.raw<number[]>([]);
  idsReady = $state(false);
  /** Slides the list holds (known from the first page, before the id list). */
  total = $state(0);
  /** False until the first page of the current list arrived (or failed). */
  loaded = $state(false);
  /** Loaded pages by index; replaced, never mutated, so views reading rows re-render. */
  private pages = $state.raw<ReadonlyMap<number, LibrarySlide[]>>(new Map());
  private indexById: Map<number, number> | null = null;
  private indexFor: number[] | null = null;
  private generation = 0;
  private loadedFor: string | null = null;
  /** The latest request per page; an older answer arriving late is dropped. */
  private pageRequests = new Map<number, number>();
  private requestSeq = 0;
  /** What each view shows now (the table's rows, the Viewer's strip), so a change refetches just that. */
  private wanted = new Map<string, RowRange>();
  private fetchTimer: ReturnType<typeof setTimeout> | null = null;

  /** Follows library changes (and catches up after the event socket reconnects); returns the function
   * that stops following. */
  start(): () => void {
    const offChanges = followLibraryChanges((change) => void this.changed(change));
    const offResync = onResync(() => void this.changed({ kinds: new Set(['slides']), slideIds: null }));
    return () => {
      offChanges();
      offResync();
    };
  }

  /** Loads the list for this project and query unless it is loaded already. */
  async ensure(projectDir: string, query: ListQuery): Promise<void> {
    if (this.loadedFor === projectDir && sameQuery(query, this.query)) return;
    await this.load(projectDir, query);
  }

  /** Loads again from the start (a project opened, an import finished, the query changed). */
  async load(projectDir: string, query: ListQuery = this.query): Promise<void> {
    const generation = ++this.generation;
    const sameList = this.loadedFor === projectDir && sameQuery(query, this.query);
    this.loadedFor = projectDir;
    this.query = query;
    if (!sameList) {
      this.pages = new Map();
      this.ids = [];
      this.idsReady = false;
      this.pageRequests.clear();
    }
    const first = this.fetchPage(0, generation);
    const ids = this.fetchIds(generation);
    await first;
    if (generation === this.generation) this.loaded = true;
    await ids;
  }

  /** Forgets the list (the project closed or changed). */
  clear(): void {
    this.generation++;
    this.loadedFor = null;
    this.query = defaultQuery();
    this.pages = new Map();
    this.ids = [];
    this.idsReady = false;
    this.total = 0;
    this.loaded = false;
    this.pageRequests.clear();
  }

  rowAt(index: number): LibrarySlide | undefined {
    return this.pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  /** The row of slide `id` if its page is loaded. */
  rowOf(id: number): LibrarySlide | undefined {
    const index = this.indexOf(id);
    return index < 0 ? undefined : this.rowAt(index);
  }

  /** Position of a slide in the list, -1 when it is not in it (or the id list has not arrived). */
  indexOf(id: number): number {
    if (!this.idsReady) {
      // Before the ids arrive, the loaded pages still know where their slides are.
      for (const [page, rows] of this.pages) {
        const i = rows.findIndex((r) => r.id === id);
        if (i >= 0) return page * PAGE_SIZE + i;
      }
      return -1;
    }
    // Reading `ids` keeps this reactive: a view deriving a position re-runs when the list changes.
    const ids = this.ids;
    if (this.indexFor !== ids) {
      this.indexById = new Map(ids.map((slideId, i) => [slideId, i]));
      this.indexFor = ids;
    }
    return this.indexById!.get(id) ?? -1;
  }

  /**
   * `owner` shows rows [start, end) now: fetch the pages they need that are not here yet. While the table
   * scrolls fast (a scroll-bar drag moves it by thousands of rows a second) the fetches are throttled to
   * the rows in view every FETCH_EVERY_MS, instead of one request per page flown past.
   */
  show(owner: string, range: RowRange): void {
    this.wanted.set(owner, range);
    if (this.pages.size === 0) this.fetchWanted();
    else this.fetchTimer ??= setTimeout(() => this.fetchWanted(), FETCH_EVERY_MS);
  }

  private fetchWanted(): void {
    if (this.fetchTimer) clearTimeout(this.fetchTimer);
    this.fetchTimer = null;
    for (const range of this.wanted.values())
      for (const page of pagesOf(range, PAGE_SIZE))
        if (!this.pages.has(page) && !this.pageRequests.has(page)) void this.fetchPage(page, this.generation);
  }

  hide(owner: string): void {
    this.wanted.delete(owner);
  }

  private async fetchIds(generation: number): Promise<void> {
    const { sort, filter } = this.query;
    const result = await reporting(() => call('slides.ids', { sort, filter }));
    if (generation !== this.generation || !result) return;
    this.ids = result.ids;
    this.idsReady = true;
    this.total = result.ids.length;
  }

  private async fetchPage(page: number, generation: number): Promise<void> {
    const seq = ++this.requestSeq;
    this.pageRequests.set(page, seq);
    const { sort, filter } = this.query;
    const result = await reporting(() =>
      call('slides.list', { offset: page * PAGE_SIZE, limit: PAGE_SIZE, sort, filter }),
    );
    if (generation !== this.generation || this.pageRequests.get(page) !== seq) return;
    this.pageRequests.delete(page);
    if (!result) return;
    // Pages past the end (slides removed) go.
    const lastPage = Math.max(0, Math.ceil(result.total / PAGE_SIZE) - 1);
    this.pages = new Map(
      [...this.pages.entries(), [page, result.slides] as const].filter(([p]) => p <= lastPage),
    );
    this.total = result.total;
  }

  private async changed(change: MergedChange): Promise<void> {
    if (this.loadedFor === null) return;
    // Drawing on a slide changes nothing the list shows.
    if ([...change.kinds].every((k) => k === 'annotations' || k === 'annotation-classes')) return;
    const generation = this.generation;
    const reorder = changeReordersList(this.query, { kinds: [...change.kinds] });
    const shownPages = new Set([
      ...[...this.wanted.values()].flatMap((range) => pagesOf(range, PAGE_SIZE)),
      ...(reorder ? [0] : []),
    ]);
    // Rows not on screen are dropped and fetched when they come back into view; rows on screen stay
    // until their fresh copy arrives, so nothing flickers.
    const kept = new Map([...this.pages].filter(([p]) => shownPages.has(p)));
    if (kept.size !== this.pages.size) this.pages = kept;
    const fetches = [...shownPages].map((p) => this.fetchPage(p, generation));
    if (reorder) fetches.push(this.fetchIds(generation));
    await Promise.all(fetches);
  }
}

export const libraryList = new LibraryListStore();

/**
 * A list the window fetches from the open project (its tasks, its cohorts...), kept in step with the
 * server: loaded once per project, refetched on demand, and a fetch overtaken by a newer one is dropped,
 * so the list never goes back to an older answer. Subclasses say what they fetch and which changes
 * refetch it.
 */
import { onResync } from './api.js';
import { reporting } from './errors.svelte.js';

export abstract class ProjectList<T extends { id: number }> {
  list = $state.raw<T[]>([]);
  loaded = $state(false);
  private generation = 0;
  private loadedFor: string | null = null;

  /** The current list from the server. */
  protected abstract fetch(): Promise<T[]>;

  /** Subscribes to the changes that make the list stale; returns the unsubscribes. */
  protected abstract follow(): (() => void)[];

  start(): () => void {
    const offs = [...this.follow(), onResync(() => void this.reload())];
    return () => offs.forEach((off) => off());
  }

  byId(id: number): T | undefined {
    return this.list.find((item) => item.id === id);
  }

  async ensure(projectDir: string): Promise<void> {
    if (this.loadedFor === projectDir) return;
    this.loadedFor = projectDir;
    await this.reload();
  }

  async reload(): Promise<void> {
    if (this.loadedFor === null) return;
    const generation = ++this.generation;
    const result = await reporting(() => this.fetch());
    if (generation !== this.generation || !result) return;
    this.list = result;
    this.loaded = true;
  }

  clear(): void {
    this.generation++;
    this.loadedFor = null;
    this.list = [];
    this.loaded = false;
  }
}

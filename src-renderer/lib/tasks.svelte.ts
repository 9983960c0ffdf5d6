/**
 * The project's tasks (label schemas) with their values and label counts, for the Library's columns and
 * filters, the Viewer's labeling panel, the CSV mapping and the split form. Follows library changes:
 * a task change refetches at once, label changes (which only move the counts) at most twice a second.
 */
import type { Task } from '../../src-main/contract/contract.js';
import { call, onResync } from './api.js';
import { reporting } from './errors.svelte.js';
import { followLibraryChanges } from './library-changes.js';

class TasksStore {
  list = $state.raw<Task[]>([]);
  loaded = $state(false);
  private generation = 0;
  private loadedFor: string | null = null;

  start(): () => void {
    const offTasks = followLibraryChanges((change) => {
      if (change.kinds.has('tasks')) void this.reload();
    });
    const offCounts = followLibraryChanges((change) => {
      if (!change.kinds.has('tasks') && (change.kinds.has('labels') || change.kinds.has('slides')))
        void this.reload();
    }, 500);
    const offResync = onResync(() => void this.reload());
    return () => {
      offTasks();
      offCounts();
      offResync();
    };
  }

  byId(id: number): Task | undefined {
    return this.list.find((t) => t.id === id);
  }

  async ensure(projectDir: string): Promise<void> {
    if (this.loadedFor === projectDir) return;
    this.loadedFor = projectDir;
    await this.reload();
  }

  async reload(): Promise<void> {
    if (this.loadedFor === null) return;
    const generation = ++this.generation;
    const result = await reporting(() => call('tasks.list'));
    if (generation !== this.generation || !result) return;
    this.list = result.tasks;
    this.loaded = true;
  }

  /** Puts a task the server just returned in place (the event that follows refetches anyway). */
  put(task: Task): void {
    const i = this.list.findIndex((t) => t.id === task.id);
    this.list = i < 0 ? [...this.list, task] : this.list.with(i, task);
  }

  clear(): void {
    this.generation++;
    this.loadedFor = null;
    this.list = [];
    this.loaded = false;
  }
}

export const tasks = new TasksStore();

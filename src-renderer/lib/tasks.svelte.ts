/**
 * The project's tasks (label schemas) with their values and label counts, for the Library's columns and
 * filters, the Viewer's labeling panel, the CSV mapping and the split form. Follows library changes:
 * a task change refetches at once, label changes (which only move the counts) at most twice a second.
 */
import type { Task } from '../../src-main/contract/contract.js';
import { call } from './api.js';
import { followLibraryChanges } from './library-changes.js';
import { ProjectList } from './project-list.svelte.js';

class TasksStore extends ProjectList<Task> {
  protected async fetch(): Promise<Task[]> {
    return (await call('tasks.list')).tasks;
  }

  protected follow(): (() => void)[] {
    return [
      followLibraryChanges((change) => {
        if (change.kinds.has('tasks')) void this.reload();
      }),
      followLibraryChanges((change) => {
        if (!change.kinds.has('tasks') && (change.kinds.has('labels') || change.kinds.has('slides')))
          void this.reload();
      }, 500),
    ];
  }

  /** Puts a task the server just returned in place (the event that follows refetches anyway). */
  put(task: Task): void {
    const i = this.list.findIndex((t) => t.id === task.id);
    this.list = i < 0 ? [...this.list, task] : this.list.with(i, task);
  }
}

export const tasks = new TasksStore();

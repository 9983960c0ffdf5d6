/**
 * What the window knows about the app: which shell it runs in and which project is open. The open
 * project follows onProjectChanged, so a project opened or closed elsewhere (the Electron menu, a
 * second browser tab) updates this window too.
 */
import type { AppInfo, ProjectInfo } from '../../src-main/contract/contract.js';
import { call, on, onResync } from './api.js';
import { reporting } from './errors.svelte.js';

class SessionStore {
  app = $state<AppInfo | null>(null);
  project = $state<ProjectInfo | null>(null);
  /** False until the first answer about the open project arrived (or failed). */
  ready = $state(false);

  /** Loads the initial state and follows changes; returns the function that stops following. */
  start(): () => void {
    const offChanged = on('onProjectChanged', (info) => {
      this.project = info;
    });
    const offResync = onResync(() => void this.refresh());
    void this.refresh().finally(() => {
      this.ready = true;
    });
    return () => {
      offChanged();
      offResync();
    };
  }

  async refresh(): Promise<void> {
    const [app, project] = await Promise.all([
      reporting(() => call('app.info')),
      reporting(() => call('project.current')),
    ]);
    if (app) this.app = app;
    if (project !== undefined) this.project = project;
  }

  /** Creates a project; errors propagate so the form can keep its input. */
  async create(dir: string, name?: string): Promise<void> {
    this.project = await call('project.create', name ? { dir, name } : { dir });
  }

  async open(dir: string): Promise<void> {
    this.project = await call('project.open', { dir });
  }

  async close(): Promise<void> {
    await call('project.close');
    this.project = null;
  }
}

export const session = new SessionStore();

/**
 * The application's state that outlives a request: the open project and the recent list. One per
 * process; both transports and the CLI's `serve` share it. Emits onProjectChanged.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import type { EventName, EventPayloads, ProjectInfo } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import { createProject, openProject, projectInfo, type Project } from '../project/project.js';
import { CsvPreviews } from './csv-previews.js';
import { RecentProjects } from './recent.js';
import { UndoStack } from './undo-stack.js';

export class AppSession {
  readonly recent: RecentProjects;
  /** Undo and redo of label, QC and patient changes, for the open project. */
  readonly edits = new UndoStack();
  readonly csvPreviews = new CsvPreviews();
  /** Recorded as the author of labels set through the app unless a call names one. */
  readonly author: string = defaultAuthor();
  private project: Project | null = null;
  private readonly events = new EventEmitter();

  constructor(readonly userDataDir: string) {
    this.recent = new RecentProjects(userDataDir);
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void): () => void {
    this.events.on(event, listener);
    return () => this.events.off(event, listener);
  }

  emit<E extends EventName>(event: E, payload: EventPayloads[E]): void {
    this.events.emit(event, payload);
  }

  get current(): Project | null {
    return this.project;
  }

  requireProject(): Project {
    if (!this.project)
      throw new ApiError('no-project', 'No project is open. Create or open a project first.');
    return this.project;
  }

  async create(dir: string, name?: string): Promise<ProjectInfo> {
    return this.switchTo(await createProject(dir, name));
  }

  async open(dir: string): Promise<ProjectInfo> {
    const resolved = path.resolve(dir);
    if (this.project?.dir === resolved) return this.switchTo(this.project);
    return this.switchTo(await openProject(resolved));
  }

  close(): void {
    if (!this.project) return;
    this.project.close();
    this.project = null;
    this.edits.clear();
    this.csvPreviews.clear();
    this.emit('onProjectChanged', null);
  }

  info(): ProjectInfo | null {
    return this.project ? projectInfo(this.project) : null;
  }

  private switchTo(next: Project): ProjectInfo {
    if (this.project !== next) {
      this.project?.close();
      this.edits.clear();
      this.csvPreviews.clear();
    }
    this.project = next;
    const info = projectInfo(next);
    this.recent.remember(next.dir, info.name);
    this.emit('onProjectChanged', info);
    return info;
  }
}

function defaultAuthor(): string {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

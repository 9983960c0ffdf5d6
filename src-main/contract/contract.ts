/**
 * The one API contract between the renderer and the main process: every command with its input schema
 * and result type, every event with its payload. Both transports (Electron IPC and browser-mode HTTP +
 * WebSocket) serve exactly this table. The renderer imports this file for types only.
 */
import { z } from 'zod';
import { annotationCommandInputs, type AnnotationCommandResults } from './annotations.js';
import { cohortCommandInputs, type CohortCommandResults } from './cohorts.js';
import {
  inferenceCommandInputs,
  type InferenceCommandResults,
  type InferenceEventPayloads,
} from './inference.js';
import { labelCommandInputs, type LabelCommandResults } from './labels.js';
import { libraryCommandInputs, type LibraryCommandResults, type UndoState } from './library.js';
import {
  trainingCommandInputs,
  type TrainingCommandResults,
  type TrainingEventPayloads,
} from './training.js';

const projectDir = z
  .string({ error: 'a project folder path is required' })
  .trim()
  .min(1, 'the project folder path is empty')
  .max(4096, 'the project folder path is too long')
  .refine((p) => !p.includes('\0'), 'the project folder path contains a NUL character');

export const commandInputs = {
  'app.info': z.object({}).strict(),
  'project.create': z
    .object({ dir: projectDir, name: z.string().trim().min(1).max(200).optional() })
    .strict(),
  'project.open': z.object({ dir: projectDir }).strict(),
  'project.close': z.object({}).strict(),
  'project.current': z.object({}).strict(),
  'project.recent': z.object({}).strict(),
  'project.forgetRecent': z.object({ dir: projectDir }).strict(),
  'slides.get': z.object({ id: z.number().int().positive() }).strict(),
  'slides.import': z
    .object({
      folder: z
        .string({ error: 'a folder path is required' })
        .trim()
        .min(1, 'the folder path is empty')
        .max(4096)
        .refine((p) => !p.includes('\0'), 'the folder path contains a NUL character'),
    })
    .strict(),
  'slides.cancelImport': z.object({ importId: z.string().min(1).max(100) }).strict(),
  ...libraryCommandInputs,
  ...labelCommandInputs,
  ...cohortCommandInputs,
  ...annotationCommandInputs,
  ...trainingCommandInputs,
  ...inferenceCommandInputs,
} as const;

export interface AppInfo {
  name: string;
  version: string;
  mode: 'electron' | 'browser';
  /** True where the shell can show a native folder picker (Electron). */
  canPickFolders: boolean;
}

export interface ProjectInfo {
  dir: string;
  name: string;
  id: string;
  createdAt: string;
  schemaVersion: number;
  slideCount: number;
  patientCount: number;
  taskCount: number;
  cohortCount: number;
  /** Path of the backup written when an older database was migrated on open, if that happened. */
  migratedFromBackup: string | null;
}

export interface RecentProject {
  dir: string;
  name: string;
  openedAt: string;
  /** False when the folder or its project.sqlite is gone. */
  exists: boolean;
}

export interface SlideSummary {
  id: number;
  name: string;
  path: string;
  patient: string | null;
  width: number | null;
  height: number | null;
  mppX: number | null;
  vendor: string | null;
}

export interface SlideLevelInfo {
  width: number;
  height: number;
  downsample: number;
}

export interface SlideDetail extends SlideSummary {
  mppY: number | null;
  objectivePower: number | null;
  backend: string;
  fileSize: number | null;
  levels: SlideLevelInfo[];
  properties: Record<string, string>;
  associatedImages: string[];
  /** Deep Zoom layout the viewer's tile source must use (tiles are JPEG). */
  deepZoom: { width: number; height: number; tileSize: number; overlap: number };
}

export interface ImportProgress {
  importId: string;
  folder: string;
  /** Candidate files found in the folder (by extension). */
  total: number;
  done: number;
  /** The file being read now. */
  current: string | null;
  imported: number;
  /** Files already in the project whose metadata was refreshed. */
  updated: number;
  /** Files that could not be imported, each with one sentence saying why. */
  errors: { file: string; reason: string }[];
  /** Slides imported although part of them could not be read (e.g. a truncated file's associated images). */
  warnings: { file: string; reason: string }[];
  state: 'running' | 'finished' | 'cancelled' | 'failed';
}

export interface CommandResults
  extends
    LibraryCommandResults,
    LabelCommandResults,
    CohortCommandResults,
    TrainingCommandResults,
    InferenceCommandResults,
    AnnotationCommandResults {
  'app.info': AppInfo;
  'project.create': ProjectInfo;
  'project.open': ProjectInfo;
  'project.close': null;
  'project.current': ProjectInfo | null;
  'project.recent': RecentProject[];
  'project.forgetRecent': RecentProject[];
  'slides.get': SlideDetail;
  'slides.import': { importId: string };
  'slides.cancelImport': null;
}

export type CommandName = keyof typeof commandInputs;
export type CommandInput<C extends CommandName> = z.input<(typeof commandInputs)[C]>;
export type ParsedCommandInput<C extends CommandName> = z.output<(typeof commandInputs)[C]>;
export type CommandResult<C extends CommandName> = CommandResults[C];

/** What changed in the open project, so open views refetch what they show. */
export type LibraryChangeKind =
  | 'labels'
  | 'qc'
  | 'patients'
  | 'tasks'
  | 'slides'
  | 'cohorts'
  | 'splits'
  | 'annotations'
  | 'annotation-classes';

export interface LibraryChange {
  kinds: LibraryChangeKind[];
  /** The slides whose rows changed; null when many or all may have (refetch the page). */
  slideIds: number[] | null;
  /** With 'annotations': the shapes created, changed or removed (absent when many: refetch the slide's). */
  annotationIds?: number[];
  /** The undo stack after the change (every change, undo and redo emit one). */
  undo: UndoState;
}

export interface EventPayloads extends TrainingEventPayloads, InferenceEventPayloads {
  onProjectChanged: ProjectInfo | null;
  onImportProgress: ImportProgress;
  /** After any command that changes labels, QC, patients, tasks, slides, cohorts or splits. */
  onLibraryChanged: LibraryChange;
}
export type EventName = keyof EventPayloads;
export const eventNames: readonly EventName[] = [
  'onProjectChanged',
  'onImportProgress',
  'onLibraryChanged',
  'onRunChanged',
  'onRunProgress',
  'onInferenceChanged',
  'onInferenceProgress',
];

export function isCommandName(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(commandInputs, name);
}

export type { ApiResult, ApiErrorCode, SerializedError } from './errors.js';
export * from './library.js';
export * from './labels.js';
export * from './cohorts.js';
export * from './annotations.js';
export * from './training.js';
export * from './inference.js';

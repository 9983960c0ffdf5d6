/**
 * The label CSV preview the user is looking at: the parsed file, the mapping and the plan, kept so the
 * preview can be paged and then applied by its id without sending the file again. One at a time (a new
 * preview replaces it); cleared when the project closes or changes.
 */
import { randomUUID } from 'node:crypto';
import { ApiError } from '../contract/errors.js';
import type { CsvImportOptions, StampedPlan } from '../project/label-csv-import.js';
import type { CsvTable } from '../project/label-csv-read.js';

export interface KeptPreview {
  id: string;
  table: CsvTable;
  options: CsvImportOptions;
  planned: StampedPlan;
}

export class CsvPreviews {
  private kept: KeptPreview | null = null;

  keep(table: CsvTable, options: CsvImportOptions, planned: StampedPlan): KeptPreview {
    this.kept = { id: randomUUID(), table, options, planned };
    return this.kept;
  }

  get(id: string): KeptPreview {
    if (this.kept?.id !== id)
      throw new ApiError(
        'not-found',
        'That CSV preview is no longer kept (another file was previewed, or the project changed); preview the file again.',
      );
    return this.kept;
  }

  clear(): void {
    this.kept = null;
  }
}

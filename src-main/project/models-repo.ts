/** SQL over the models imported into the project (their files live in models/<folder>/). */
import type { Db } from '../db/connection.js';

export interface ModelRow {
  id: number;
  name: string;
  folder: string;
  architecture: string;
  numParams: number;
  outputDim: number;
  inputSize: number;
  weightsSha256: string;
  source: string | null;
  importedAt: string;
}

const COLUMNS = `id, name, folder, architecture, num_params AS numParams, output_dim AS outputDim,
  input_size AS inputSize, weights_sha256 AS weightsSha256, source, imported_at AS importedAt`;

export function selectModels(db: Db): ModelRow[] {
  return db.prepare(`SELECT ${COLUMNS} FROM models ORDER BY name COLLATE NOCASE`).all() as ModelRow[];
}

export function selectModelByName(db: Db, name: string): ModelRow | undefined {
  return db.prepare(`SELECT ${COLUMNS} FROM models WHERE name = ?`).get(name) as ModelRow | undefined;
}

export function insertModel(db: Db, m: Omit<ModelRow, 'id' | 'importedAt'>): number {
  const info = db
    .prepare(
      `INSERT INTO models (name, folder, architecture, num_params, output_dim, input_size, weights_sha256, source)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(m.name, m.folder, m.architecture, m.numParams, m.outputDim, m.inputSize, m.weightsSha256, m.source);
  return Number(info.lastInsertRowid);
}

import type { Migration } from './types.js';

/** What the slide import learns about a file beyond its size: backend, objective, file identity. */
export const migration0030: Migration = {
  version: 30,
  name: 'slide import details',
  up: `
    ALTER TABLE slides ADD COLUMN backend TEXT;
    ALTER TABLE slides ADD COLUMN objective_power REAL;
    ALTER TABLE slides ADD COLUMN file_size INTEGER;
    ALTER TABLE slides ADD COLUMN level_count INTEGER;
  `,
};

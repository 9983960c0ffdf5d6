import type { Migration } from './types.js';

/**
 * Region annotations. A shape's geometry (level-0 pixels) is OGC Well-Known Binary, as GeoPackage keeps it
 * (GeoJSON text where WKB cannot hold it exactly: project/wkb.ts), with what
 * QuPath writes around it kept apart so that export gives it back: the geometry's foreign members
 * (`plane`), the Feature's other members (`id`, `nucleusGeometry`) and the properties beside objectType,
 * classification and name (`measurements`, `metadata`, `color`, `isLocked` …), each a JSON object.
 *
 * `annotation_bounds` is an R*Tree over each shape's bounding box with the slide as a third dimension, so
 * "the shapes of slide S in this rectangle" is one index search. Integer bounds (rtree_i32) rounded
 * outwards: exact for slide ids, and a box never smaller than its shape. Rows are written beside each
 * shape by the repository in the same transaction; a trigger removes them with the shape (also when a
 * slide's removal cascades).
 *
 * The classes start as QuPath's defaults, so files from QuPath find theirs.
 */
export const migration0070: Migration = {
  version: 70,
  name: 'annotations',
  up: `
    CREATE TABLE annotation_classes (
      id         INTEGER PRIMARY KEY,
      name       TEXT NOT NULL UNIQUE,
      color      TEXT NOT NULL,
      position   INTEGER NOT NULL,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    INSERT INTO annotation_classes (name, color, position) VALUES
      ('Tumor', '#c80000', 0),
      ('Stroma', '#96c896', 1),
      ('Immune cells', '#a05aa0', 2),
      ('Necrosis', '#323232', 3),
      ('Other', '#ffc800', 4),
      ('Region*', '#0000b4', 5),
      ('Ignore*', '#b4b4b4', 6);

    CREATE TABLE annotations (
      id             INTEGER PRIMARY KEY AUTOINCREMENT,
      slide_id       INTEGER NOT NULL REFERENCES slides(id) ON DELETE CASCADE,
      class_id       INTEGER REFERENCES annotation_classes(id) ON DELETE SET NULL,
      object_type    TEXT,
      name           TEXT,
      shape          TEXT,
      geometry       BLOB NOT NULL,
      geometry_extra TEXT,
      feature_extra  TEXT,
      properties     TEXT,
      vertex_count   INTEGER NOT NULL,
      author         TEXT,
      created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX annotations_slide ON annotations(slide_id, id);
    CREATE INDEX annotations_class ON annotations(class_id);

    CREATE VIRTUAL TABLE annotation_bounds USING rtree_i32(
      id, min_slide, max_slide, min_x, max_x, min_y, max_y
    );
    CREATE TRIGGER annotations_bounds_gone AFTER DELETE ON annotations BEGIN
      DELETE FROM annotation_bounds WHERE id = old.id;
    END;
  `,
};

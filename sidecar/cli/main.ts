import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { Catalog } from '../catalog/catalog';
import { DEFAULT_EXCLUDES } from '../scan/ignore-rules';
import { indexRoot } from '../pipeline/indexer';
import { SearchEngine, type SearchResult } from '../search/search';
import { ModelResolver } from '../models/resolver';
import { modelDownloadBytes } from '../models/manifest';
import { SemanticSearch } from '../semantic/semantic-search';
import { ProgressBar } from './progress-bar';
import { VERSION } from '../version';
import { runDoctor } from './doctor';
import { findDuplicateGroups } from '../duplicates/find-groups';
import { FaceLibrary } from '../faces/library';
import { parseServeArgs, serve } from '../server/serve-command';
import { runTextCommand } from './text-command';
import { enableTags, tagsOfAssets, toAssetTag } from '../tags/tags';
import { analyzeFile } from '../tags/analyze-file';
import { countedName } from '../tags/image-tags';
import { loadDefaultAnalyzers } from '../analyzers/default-analyzers';
import { similarImages, similarToEmbedding } from '../vectors/similar';
import { closeEmbeddingIndexes } from '../vectors/registry';
import type { AssetTag } from '../protocol';
import { cmdOptimise, OPTIMISE_HELP, OptimiseUsageError } from './optimise';
import { formatBytes } from '../util/format-bytes';

class UsageError extends Error {}

const HELP = `loupe ${VERSION}: find and organise the images in your folders, locally.

Usage:
  loupe index <dir> [--exclude GLOB]... [--no-gitignore] [--concurrency N] [--json]
  loupe status <dir> [--json]
  loupe search <dir> <query> [--json] [--limit N]
  loupe search <dir> --queries <file> --json     one query per line in, one JSON line per query out
  loupe text <dir|file> [--json]                 the text in each image (OCR); --json adds lines, boxes, confidences
  loupe tags <dir|file> [--json]                 each image's tags (objects, concepts, colours) with scores
  loupe similar <dir> <image> [--json] [--limit N]  images in <dir> that look like <image> (which may be outside it)
  loupe duplicates <dir> [--json]                exact copies and near-duplicates, with the suggested keeper
  loupe people <dir> [--json]                    people and unnamed clusters with their faces
  loupe people name <dir> person:<id>|face:<id> <name> | merge <dir> <target> <source>... | reject <dir> <face> [person]
  loupe people forget <dir>                      delete all face data of that folder and stop detecting faces
${OPTIMISE_HELP}
  loupe models list | fetch [ID...] | verify [ID...]
  loupe doctor [dir]
  loupe serve --root <dir> [--root <dir>]... [--port N] [--idle-timeout MIN] [--parent-pid PID] [--no-watch]

Query filters: folder:NAME path:TEXT ext:png camera:canon date:2017 date:2017-11..2018 after:2017-05 before:2019
  size:>2mb larger:1mb smaller:500kb width:>1000 height:800..1600 pixels:>4mp is:portrait|landscape|square
  tag:bird has:people color:red
Environment: LOUPE_MODELS_DIR (models folder checked first), LOUPE_CACHE_DIR (cache for models and read-only roots).`;

function rootArg(value: string | undefined): string {
  if (!value) throw new UsageError('missing <dir>');
  const root = resolve(value);
  if (!existsSync(root)) throw new Error(`${value}: no such folder`);
  if (!statSync(root).isDirectory()) throw new Error(`${value}: not a folder`);
  return root;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function withCatalog<T>(root: string, fn: (catalog: Catalog) => Promise<T>): Promise<T> {
  const catalog = await Catalog.open(root);
  try {
    return await fn(catalog);
  } finally {
    catalog.close();
  }
}

async function cmdIndex(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      exclude: { type: 'string', multiple: true },
      'no-gitignore': { type: 'boolean' },
      concurrency: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const root = rootArg(positionals[0]);
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\ncancelling: finishing the images in flight (Ctrl-C again to stop now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const bar = new ProgressBar();
  return withCatalog(root, async (catalog) => {
    const summary = await indexRoot(catalog, {
      excludes: values.exclude ?? DEFAULT_EXCLUDES,
      gitignore: !values['no-gitignore'],
      concurrency: values.concurrency ? Number(values.concurrency) : undefined,
      signal: controller.signal,
      onProgress: values.json ? undefined : (p) => bar.update(p),
    });
    bar.finish();
    const status = await catalog.summary(0);
    if (values.json) {
      print(JSON.stringify({ root, ...summary, catalog: { images: status.ok, errors: status.errors, pending: status.pending } }));
    } else {
      const s = summary.scan;
      print(
        `${summary.cancelled ? 'Cancelled' : 'Indexed'} ${root}: ${plural(status.ok, 'image')}, ${plural(status.errors, 'error')}` +
          `${status.pending ? `, ${status.pending} still pending` : ''}`,
      );
      print(
        `  this run: ${summary.processed} processed (${summary.failed} failed) in ${(summary.durationMs / 1000).toFixed(1)}s, ` +
          `${summary.imagesPerSecond.toFixed(1)} images/s; scan ${(s.durationMs / 1000).toFixed(2)}s: ` +
          `${s.added} new, ${s.changed} changed, ${s.moved} moved, ${s.removed} removed, ${s.unchanged} unchanged`,
      );
      if (status.errors) print(`  run "loupe status ${positionals[0]}" to see the errors`);
    }
    return summary.cancelled ? 130 : 0;
  });
}

async function cmdStatus(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const root = rootArg(positionals[0]);
  return withCatalog(root, async (catalog) => {
    const s = await catalog.summary();
    if (values.json) {
      print(JSON.stringify({ root, catalog: catalog.dbPath, ...s }));
      return 0;
    }
    print(`${root}`);
    print(`  catalog: ${catalog.dbPath}`);
    print(`  images: ${s.ok} indexed, ${s.pending} pending, ${s.errors} with errors`);
    const formats = Object.entries(s.byFormat).map(([f, n]) => `${f} ${n}`).join(', ');
    if (formats) print(`  formats: ${formats}`);
    if (s.failures.length) {
      print(`  errors:`);
      for (const f of s.failures) print(`    ${f.relPath}: ${f.message} [${f.code}]`);
    }
    return 0;
  });
}

function printHuman(result: SearchResult): void {
  if (result.warnings.length) for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  if (result.items.length === 0) {
    print(`no images match "${result.query}"`);
    return;
  }
  for (const hit of result.items) {
    const why = hit.reasons.map((r) => r.text).join('; ');
    print(`${hit.score.toFixed(3)}  ${hit.relPath}${why ? `  (${why})` : ''}`);
  }
  if (result.total > result.items.length) print(`... ${result.total - result.items.length} more`);
}

async function cmdSearch(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, limit: { type: 'string' }, queries: { type: 'string' } },
  });
  const root = rootArg(positionals[0]);
  const limit = values.limit ? Number(values.limit) : 20;
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive whole number');
  const queries = values.queries
    ? readFileSync(values.queries === '-' ? 0 : values.queries, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '')
    : null;
  if (!queries && positionals.length < 2) throw new UsageError('missing <query>');
  return withCatalog(root, async (catalog) => {
    const engine = await SearchEngine.load(catalog);
    // CLIP joins automatically when its model is on this machine; otherwise a warning says it is off.
    engine.registerSignal(new SemanticSearch(catalog).signal());
    enableTags(engine);
    for (const query of queries ?? [positionals.slice(1).join(' ')]) {
      const result = await engine.search({ query, limit });
      if (values.json) print(JSON.stringify(result));
      else printHuman(result);
    }
    return 0;
  });
}

function tagLine(tags: readonly AssetTag[]): string {
  return tags.length ? tags.map((t) => `${countedName(t.name, t.count)} ${t.score.toFixed(2)}`).join(', ') : '(no tags)';
}

/** Brings the folder's catalog up to date (quietly) before a command that reads it. */
async function indexQuietly(catalog: Catalog): Promise<void> {
  await indexRoot(catalog, { excludes: DEFAULT_EXCLUDES });
}

async function cmdTags(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const target = positionals[0];
  if (!target) throw new UsageError('missing <dir|file>');
  const abs = resolve(target);
  if (!existsSync(abs)) throw new Error(`${target}: no such file or folder`);
  if (statSync(abs).isFile()) {
    const { tags } = await analyzeFile(abs, await loadDefaultAnalyzers());
    const out = tags.map(toAssetTag);
    print(values.json ? JSON.stringify({ path: abs, tags: out }) : `${target}: ${tagLine(out)}`);
    return 0;
  }
  const root = rootArg(target);
  return withCatalog(root, async (catalog) => {
    await indexQuietly(catalog);
    const assets = (await catalog.loadSearchRows()).sort((a, b) => a.relPath.localeCompare(b.relPath));
    const tags = await tagsOfAssets(catalog);
    const images = assets.map((a) => ({ id: a.id, relPath: a.relPath, tags: tags.get(a.id) ?? [] }));
    if (values.json) print(JSON.stringify({ root, images }));
    else for (const img of images) print(`${img.relPath}: ${tagLine(img.tags)}`);
    return 0;
  });
}

async function cmdSimilar(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, limit: { type: 'string' } } });
  const root = rootArg(positionals[0]);
  if (!positionals[1]) throw new UsageError('missing <image>');
  const image = resolve(positionals[1]);
  if (!existsSync(image) || !statSync(image).isFile()) throw new Error(`${positionals[1]}: no such file`);
  const limit = values.limit ? Number(values.limit) : 10;
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive whole number');
  return withCatalog(root, async (catalog) => {
    try {
      await indexQuietly(catalog);
      const rel = relative(root, image).split(sep).join('/');
      const inside = !rel.startsWith('..') && !isAbsolute(rel) ? await catalog.getAssetByPath(rel) : null;
      let result;
      if (inside && inside.status === 'ok') result = await similarImages(root, catalog, inside.id, limit);
      else {
        const { embedding } = await analyzeFile(image, await loadDefaultAnalyzers());
        if (!embedding) throw new Error('similar images need the MobileNetV2 model, which is not available');
        result = await similarToEmbedding(root, catalog, embedding, basename(image), limit);
      }
      if (values.json) print(JSON.stringify(result));
      else if (result.items.length === 0) print('no similar images');
      else for (const hit of result.items) print(`${hit.score.toFixed(3)}  ${hit.relPath}`);
      return 0;
    } finally {
      await closeEmbeddingIndexes(catalog);
    }
  });
}


async function cmdDuplicates(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const root = rootArg(positionals[0]);
  return withCatalog(root, async (catalog) => {
    const report = await findDuplicateGroups(catalog);
    if (values.json) {
      print(JSON.stringify({ root, ...report }));
      return 0;
    }
    if (report.groups.length === 0) print('no duplicates found');
    for (const g of report.groups) {
      print(`${g.category === 'exact' ? 'exact copies' : g.category === 'near' ? 'near-duplicates' : 'similar shots'} (${g.members.length} files, ${formatBytes(g.reclaimableBytes)} reclaimable)`);
      for (const m of g.members) {
        const keep = m.id === g.keeperId ? `keep: ${g.keeperReason}` : `distance ${m.distance ?? '?'}`;
        const used = m.referencedBy.length ? `; used by ${m.referencedBy.join(', ')}` : '';
        print(`  ${m.id === g.keeperId ? '*' : ' '} ${m.relPath}  ${m.width}x${m.height} ${formatBytes(m.size)}  (${keep}${used})`);
      }
    }
    print(`total reclaimable: ${formatBytes(report.reclaimableBytes)}`);
    for (const n of report.notes) print(`note: ${n}`);
    return 0;
  });
}

async function cmdPeople(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const actions = ['name', 'merge', 'reject', 'forget'];
  const action = actions.includes(positionals[0]) ? positionals.shift()! : 'list';
  const root = rootArg(positionals[0]);
  return withCatalog(root, async (catalog) => {
    const people = await FaceLibrary.open(catalog);
    const id = (v: string | undefined, what: string) => {
      const n = Number(v);
      if (!Number.isInteger(n)) throw new UsageError(`${what} must be a number`);
      return n;
    };
    if (action === 'name') {
      // loupe people name <dir> person:<id>|face:<id> <name...>
      const [target, ...nameWords] = positionals.slice(1);
      const m = /^(person|face):(\d+)$/.exec(target ?? '');
      if (!m || nameWords.length === 0) throw new UsageError('usage: loupe people name <dir> person:<id>|face:<id> <name>');
      const result = m[1] === 'person' ? await people.namePerson(Number(m[2]), nameWords.join(' ')) : await people.nameFace(Number(m[2]), nameWords.join(' '));
      print(values.json ? JSON.stringify(result) : `${result.name} (person ${result.id}): ${result.faceCount} faces`);
      return 0;
    }
    if (action === 'merge') {
      // loupe people merge <dir> <targetId> <sourceId...>
      const [target, ...sources] = positionals.slice(1);
      const result = await people.merge(sources.map((s) => id(s, 'person id')), id(target, 'person id'));
      print(values.json ? JSON.stringify(result) : `merged into ${result.name ?? `person ${result.id}`}: ${result.faceCount} faces`);
      return 0;
    }
    if (action === 'forget') {
      // Privacy: every face, person and decision of this root goes, and detection stays off for it.
      const gone = await people.deleteAllFaceData();
      print(values.json ? JSON.stringify(gone) : `deleted ${gone.faces} faces, ${gone.people} people and ${gone.decisions} decisions; face detection is off for ${root}`);
      return 0;
    }
    if (action === 'reject') {
      // loupe people reject <dir> <faceId> [personId]
      const [face, person] = positionals.slice(1);
      const result = await people.rejectSuggestion(id(face, 'face id'), person === undefined ? undefined : id(person, 'person id'));
      print(values.json ? JSON.stringify(result) : `face ${result.id} is no longer suggested for that person`);
      return 0;
    }
    const list = await people.listPeople({ includeClusters: true });
    if (values.json) {
      const detailed = await Promise.all(list.map(async (p) => (await people.getPerson(p.id)) ?? p));
      print(JSON.stringify({ root, people: detailed }));
      return 0;
    }
    if (list.length === 0) print('no people found (faces are grouped once at least a few photos of one person are indexed)');
    for (const p of list) {
      const details = await people.getPerson(p.id);
      print(`${p.kind === 'person' ? p.name ?? `person ${p.id}` : `unnamed cluster ${p.id}`}: ${p.faceCount} faces in ${p.photoCount} photos`);
      for (const f of details?.faces ?? []) {
        const b = f.box;
        print(`    face ${f.id}  ${f.relPath}  box ${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.w)}x${Math.round(b.h)}  score ${f.score.toFixed(2)}  ${f.status}${f.confidence !== null ? ` ${f.confidence.toFixed(2)}` : ''}`);
      }
    }
    return 0;
  });
}

async function cmdModels(args: string[]): Promise<number> {
  const [sub, ...ids] = args;
  const resolver = new ModelResolver();
  // Large opt-in models (CLIP) are fetched and verified only when named.
  const targetIds = ids.length ? ids : resolver.manifest.models.filter((m) => !m.optIn).map((m) => m.id);
  switch (sub) {
    case 'list': {
      for (const { entry, files } of await resolver.list()) {
        const where = files.every((f) => f.location !== 'missing') ? files.map((f) => f.location).join('+') : 'not downloaded';
        const size = modelDownloadBytes(entry);
        print(`${entry.id.padEnd(18)} ${(size / 1e6).toFixed(1).padStart(6)} MB  ${where.padEnd(14)} ${entry.licence.padEnd(12)} ${entry.name}`);
      }
      return 0;
    }
    case 'fetch': {
      for (const id of targetIds) {
        const paths = await resolver.resolve(id, {
          onProgress: (file, p) => {
            if (process.stderr.isTTY) {
              const pct = p.total ? ` ${Math.round((100 * p.received) / p.total)}%` : '';
              process.stderr.write(`\r\x1b[K${id}: ${file.path} ${(p.received / 1e6).toFixed(1)} MB${pct}`);
            }
          },
        });
        if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
        for (const [file, abs] of Object.entries(paths)) print(`${id}: ${file} -> ${abs}`);
      }
      return 0;
    }
    case 'verify': {
      let bad = 0;
      for (const id of targetIds) {
        for (const s of await resolver.verify(id)) {
          if (s.verified) print(`ok       ${id}: ${s.absPath}`);
          else {
            bad++;
            print(`PROBLEM  ${id}: ${s.path}: ${s.problem}`);
          }
        }
      }
      return bad ? 1 : 0;
    }
    default:
      throw new UsageError('models needs one of: list, fetch, verify');
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'index':
        return await cmdIndex(rest);
      case 'status':
        return await cmdStatus(rest);
      case 'search':
        return await cmdSearch(rest);
      case 'tags':
        return await cmdTags(rest);
      case 'similar':
        return await cmdSimilar(rest);
      case 'duplicates':
        return await cmdDuplicates(rest);
      case 'text': {
        const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' } } });
        if (!positionals[0]) throw new UsageError('missing <dir|file>');
        if (!existsSync(positionals[0])) throw new Error(`${positionals[0]}: no such file or folder`);
        return await runTextCommand(positionals[0], { json: values.json ?? false, print });
      }
      case 'people':
        return await cmdPeople(rest);
      case 'models':
        return await cmdModels(rest);
      case 'optimise':
      case 'optimize':
        return await cmdOptimise(rest, print);
      case 'serve':
        return await serve(parseServeArgs(rest));
      case 'doctor':
        return await runDoctor(rest[0] ? resolve(rest[0]) : null, print);
      case '--version':
      case 'version':
        print(VERSION);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        print(HELP);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`loupe: ${msg.split('\n')[0]}\n`);
    if (err instanceof UsageError || err instanceof OptimiseUsageError || (err as NodeJS.ErrnoException).code?.startsWith?.('ERR_PARSE_ARGS')) {
      process.stderr.write(`run "loupe help" for usage\n`);
      return 2;
    }
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`loupe: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

import type { Catalog } from '../catalog/catalog';
import { MOBILENET_EMBEDDING } from '../analyzers/mobilenet/analyzer';
import { errorMessage } from '../util/errors';
import { EmbeddingIndex, type EmbeddingIndexOptions } from './embedding-index';

type Log = NonNullable<EmbeddingIndexOptions['log']>;

const indexes = new WeakMap<Catalog, Map<string, Promise<EmbeddingIndex>>>();

/**
 * The one embedding index per catalog and model in this process, opened (loaded or rebuilt from
 * the catalog) on first use. A failed open is forgotten so the next call tries again.
 */
export function embeddingIndexFor(
  catalog: Catalog,
  options: { model?: string; log?: Log } & Pick<EmbeddingIndexOptions, 'centre' | 'quantization'> = {},
): Promise<EmbeddingIndex> {
  const model = options.model ?? MOBILENET_EMBEDDING;
  let perCatalog = indexes.get(catalog);
  if (!perCatalog) {
    perCatalog = new Map();
    indexes.set(catalog, perCatalog);
  }
  let opening = perCatalog.get(model);
  if (!opening) {
    opening = EmbeddingIndex.open(catalog, { model, log: options.log, centre: options.centre, quantization: options.quantization });
    perCatalog.set(model, opening);
    const map = perCatalog;
    opening.catch(() => {
      if (map.get(model) === opening) map.delete(model);
    });
  }
  return opening;
}

/** The index if it was already opened in this process (no catalog work otherwise). */
export function openedEmbeddingIndex(catalog: Catalog, model = MOBILENET_EMBEDDING): Promise<EmbeddingIndex> | null {
  return indexes.get(catalog)?.get(model) ?? null;
}

/** Saves and forgets a catalog's indexes (before the catalog closes). */
export async function closeEmbeddingIndexes(catalog: Catalog): Promise<void> {
  const perCatalog = indexes.get(catalog);
  if (!perCatalog) return;
  indexes.delete(catalog);
  for (const opening of perCatalog.values()) {
    const ix = await opening.catch(() => null);
    await ix?.close();
  }
}

/** What the server's root objects offer for wiring (RootService fits). */
export interface ChangeSource {
  readonly root: string;
  readonly catalog: Catalog;
  on(event: 'changed', listener: (change: { upserted: number[]; removed: number[] }) => void): unknown;
  on(event: 'run-end', listener: (...args: unknown[]) => void): unknown;
}

/**
 * Keeps a served root's image-embedding index current: opens it in the background at start
 * (rebuilding from the catalog if the saved file is missing, stale or damaged), applies every
 * `changed` event (upserted/removed asset ids), and re-centres after a run that grew the library a lot.
 */
export function attachEmbeddingIndex(source: ChangeSource, log: Log): void {
  const withIndex = (what: string, fn: (ix: EmbeddingIndex) => Promise<unknown>) => {
    embeddingIndexFor(source.catalog, { log })
      .then(fn)
      .catch((err) => log('warn', `vector index for ${source.root}: ${what} failed (${errorMessage(err)})`));
  };
  withIndex('opening', async () => undefined);
  source.on('changed', (change) => withIndex('update', (ix) => ix.applyChange(change)));
  source.on('run-end', () => withIndex('re-centring', (ix) => ix.refreshMean()));
}

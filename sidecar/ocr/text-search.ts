/**
 * Search over the recognised text of a root. The inverted index lives in DuckDB (ocr_postings:
 * term -> asset, frequency, positions, lines; written by the OCR analyzer with the asset's other
 * facts); this keeps a copy in memory for keystroke latency and ranks with BM25. Query words match
 * folded terms exactly, by prefix, or within a small edit distance (OCR misreads and typos:
 * "invoce" finds "invoice"); quoted phrases need their words in order.
 */
import type { Catalog } from '../catalog/catalog';
import { foldText, tokenize } from './tokenize';

const K1 = 1.2;
const B = 0.75;
/** Weights of the ways a vocabulary term can match a query word. */
const EXACT = 1;
const PREFIX = 0.85;
const FUZZY1 = 0.75;
const FUZZY2 = 0.55;
/** Expansions kept per query word (the most frequent terms first). */
const MAX_EXPANSIONS = 64;

interface Posting {
  tf: number;
  positions: Int32Array;
  lines: Int32Array;
}

export interface OcrQueryUnit {
  /** Folded words; more than one is a phrase. */
  words: string[];
  phrase: boolean;
}

export interface OcrSearchHit {
  assetId: number;
  score: number;
  /** Query units (words or phrases) found in the image. */
  matched: number;
  /** Line indexes (ocr_lines.line_index) holding the matches, in order. */
  lines: number[];
  /** The document terms that matched, for display. */
  terms: string[];
}

/** Query text -> words and "quoted phrases" (folded). */
export function parseOcrQuery(query: string): OcrQueryUnit[] {
  const units: OcrQueryUnit[] = [];
  for (const m of query.matchAll(/"([^"]*)"?|(\S+)/g)) {
    const quoted = m[1] !== undefined;
    const words = tokenize(m[1] ?? m[2] ?? '');
    if (words.length === 0) continue;
    if (quoted || words.length > 1) units.push({ words, phrase: words.length > 1 });
    else units.push({ words, phrase: false });
  }
  return units;
}

/** Units from the search planner's terms (phrases arrive as one term containing spaces). */
export function unitsFromTerms(terms: readonly string[]): OcrQueryUnit[] {
  const units: OcrQueryUnit[] = [];
  for (const t of terms) {
    const words = tokenize(t);
    if (words.length > 0) units.push({ words, phrase: words.length > 1 });
  }
  return units;
}

/** Damerau (adjacent transposition) Levenshtein distance, or max + 1 once it is certainly above max. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = cur[0];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/** Edits tolerated for a query word of this length: none for short words (too many false friends). */
function allowedEdits(length: number): number {
  if (length >= 8) return 2;
  if (length >= 4) return 1;
  return 0;
}

/** Whether `term` starts with `word` typed with one edit ("invoce" -> "invoices"). */
function typoPrefix(word: string, term: string): boolean {
  for (let len = word.length - 1; len <= word.length + 1; len++) {
    if (len <= 0 || len > term.length) continue;
    if (editDistance(word, term.slice(0, len), 1) <= 1) return true;
  }
  return false;
}

export class OcrTextIndex {
  private readonly terms = new Map<string, Map<number, Posting>>();
  private readonly docTerms = new Map<number, string[]>();
  private readonly docLength = new Map<number, number>();
  private totalLength = 0;
  private sortedVocab: string[] | null = null;

  private constructor(private readonly catalog: Catalog) {}

  static async load(catalog: Catalog): Promise<OcrTextIndex> {
    const index = new OcrTextIndex(catalog);
    await index.reload(null);
    return index;
  }

  get documents(): number {
    return this.docLength.size;
  }

  get vocabularySize(): number {
    return this.terms.size;
  }

  /** Assets with any recognised word. */
  idsWithText(): Set<number> {
    return new Set(this.docLength.keys());
  }

  /** Re-reads these assets from the catalog (an asset without OCR rows leaves the index). */
  async refresh(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    this.remove(ids);
    await this.reload(ids);
  }

  remove(ids: readonly number[]): void {
    for (const id of ids) {
      const terms = this.docTerms.get(id);
      if (!terms) continue;
      for (const t of terms) {
        const list = this.terms.get(t);
        if (!list) continue;
        list.delete(id);
        if (list.size === 0) {
          this.terms.delete(t);
          this.sortedVocab = null;
        }
      }
      this.docTerms.delete(id);
      this.totalLength -= this.docLength.get(id) ?? 0;
      this.docLength.delete(id);
    }
  }

  private async reload(ids: readonly number[] | null): Promise<void> {
    const where = ids ? `WHERE asset_id IN (${ids.map((id) => Number(id)).join(',')})` : '';
    const docs = await this.catalog.read(`SELECT asset_id, term_count FROM ocr_text ${where ? `${where} AND` : 'WHERE'} term_count > 0`);
    for (const d of docs) {
      const id = Number(d.asset_id);
      const len = Number(d.term_count);
      this.docLength.set(id, len);
      this.totalLength += len;
      this.docTerms.set(id, []);
    }
    const rows = await this.catalog.read(`SELECT asset_id, term, tf, positions, lines FROM ocr_postings ${where}`);
    for (const r of rows) {
      const id = Number(r.asset_id);
      const own = this.docTerms.get(id);
      if (!own) continue;
      const term = String(r.term);
      let list = this.terms.get(term);
      if (!list) {
        this.terms.set(term, (list = new Map()));
        this.sortedVocab = null;
      }
      list.set(id, { tf: Number(r.tf), positions: Int32Array.from(r.positions as number[]), lines: Int32Array.from(r.lines as number[]) });
      own.push(term);
    }
  }

  private vocab(): string[] {
    if (!this.sortedVocab) this.sortedVocab = [...this.terms.keys()].sort();
    return this.sortedVocab;
  }

  /** Vocabulary terms a query word can stand for, with their weights. */
  expand(word: string, allowPrefix: boolean): Map<string, number> {
    const out = new Map<string, number>();
    if (this.terms.has(word)) out.set(word, EXACT);
    if (allowPrefix && word.length >= 2) {
      const vocab = this.vocab();
      let lo = 0, hi = vocab.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (vocab[mid] < word) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < vocab.length && vocab[i].startsWith(word); i++) if (!out.has(vocab[i])) out.set(vocab[i], PREFIX);
    }
    const edits = allowedEdits(word.length);
    if (edits > 0) {
      for (const term of this.terms.keys()) {
        if (out.has(term)) continue;
        const d = Math.abs(term.length - word.length) > edits ? edits + 1 : editDistance(word, term, edits);
        if (d <= edits) out.set(term, d === 1 ? FUZZY1 : FUZZY2);
        // A word typed with a typo may also be the start of a longer term ("invoc" -> "invoices").
        // (First letters are rarely the misread ones; checking them first keeps this cheap on a large vocabulary.)
        else if (allowPrefix && word.length >= 4 && term.length > word.length && term[0] === word[0] && typoPrefix(word, term)) out.set(term, FUZZY2);
      }
    }
    if (out.size <= MAX_EXPANSIONS) return out;
    const kept = [...out].sort((a, b) => b[1] - a[1] || (this.terms.get(b[0])?.size ?? 0) - (this.terms.get(a[0])?.size ?? 0));
    return new Map(kept.slice(0, MAX_EXPANSIONS));
  }

  private bm25(tf: number, df: number, docLen: number): number {
    const n = this.docLength.size;
    const avg = n === 0 ? 1 : this.totalLength / n;
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    return (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * docLen) / avg));
  }

  /**
   * Images ranked by how many query units they contain, then by BM25 (each unit scored by its
   * best-matching expansion). `allowPrefix`: words also match as prefixes (search as you type).
   */
  search(units: readonly OcrQueryUnit[], options: { limit?: number; allowPrefix?: boolean } = {}): OcrSearchHit[] {
    const allowPrefix = options.allowPrefix ?? true;
    const acc = new Map<number, { score: number; matched: number; lines: Set<number>; terms: Set<string> }>();
    const add = (id: number, score: number, lines: Iterable<number>, terms: Iterable<string>) => {
      let a = acc.get(id);
      if (!a) acc.set(id, (a = { score: 0, matched: 0, lines: new Set(), terms: new Set() }));
      a.score += score;
      a.matched++;
      for (const l of lines) a.lines.add(l);
      for (const t of terms) a.terms.add(t);
    };
    for (const unit of units) {
      const expansions = unit.words.map((w, i) => this.expand(w, allowPrefix && (!unit.phrase || i === unit.words.length - 1)));
      if (!unit.phrase) {
        const best = new Map<number, { score: number; term: string; posting: Posting }>();
        for (const [term, weight] of expansions[0]) {
          const list = this.terms.get(term);
          if (!list) continue;
          for (const [id, p] of list) {
            const s = weight * this.bm25(p.tf, list.size, this.docLength.get(id) ?? 1);
            const cur = best.get(id);
            if (!cur || s > cur.score) best.set(id, { score: s, term, posting: p });
          }
        }
        for (const [id, b] of best) add(id, b.score, b.posting.lines, [b.term]);
        continue;
      }
      // Phrase: documents holding every word (some expansion of it), then consecutive positions.
      let candidates: Set<number> | null = null;
      for (const exp of expansions) {
        const ids = new Set<number>();
        for (const term of exp.keys()) for (const id of this.terms.get(term)?.keys() ?? []) if (!candidates || candidates.has(id)) ids.add(id);
        candidates = ids;
        if (ids.size === 0) break;
      }
      for (const id of candidates ?? []) {
        // word index -> (position -> [score, line, term]) over its expansions in this document
        const at = expansions.map((exp) => {
          const m = new Map<number, { score: number; line: number; term: string }>();
          for (const [term, weight] of exp) {
            const list = this.terms.get(term);
            const p = list?.get(id);
            if (!list || !p) continue;
            const s = weight * this.bm25(p.tf, list.size, this.docLength.get(id) ?? 1);
            p.positions.forEach((pos, k) => {
              const cur = m.get(pos);
              if (!cur || s > cur.score) m.set(pos, { score: s, line: p.lines[k], term });
            });
          }
          return m;
        });
        let bestScore = -1;
        let bestLines: number[] = [];
        let bestTerms: string[] = [];
        for (const [start, first] of at[0]) {
          let score = first.score;
          const lines = [first.line];
          const terms = [first.term];
          let ok = true;
          for (let k = 1; k < at.length && ok; k++) {
            const hit = at[k].get(start + k);
            if (!hit) ok = false;
            else {
              score += hit.score;
              lines.push(hit.line);
              terms.push(hit.term);
            }
          }
          if (ok && score > bestScore) {
            bestScore = score;
            bestLines = lines;
            bestTerms = terms;
          }
        }
        if (bestScore >= 0) add(id, bestScore, bestLines, bestTerms);
      }
    }
    const hits: OcrSearchHit[] = [...acc].map(([assetId, a]) => ({
      assetId,
      score: a.score,
      matched: a.matched,
      lines: [...a.lines].sort((x, y) => x - y),
      terms: [...a.terms],
    }));
    hits.sort((x, y) => y.matched - x.matched || y.score - x.score || x.assetId - y.assetId);
    return options.limit !== undefined ? hits.slice(0, options.limit) : hits;
  }
}

/** Folded text of a query, for messages. */
export function foldedQuery(query: string): string {
  return foldText(query).trim();
}

/**
 * Words of recognised text for the OCR inverted index: Unicode-normalised, accents and case
 * folded ("Café" -> "cafe"), split on anything that is not a letter or digit. Han characters are
 * words on their own (Chinese has no spaces), so any character of a Chinese line can be searched.
 */

/** Lower case without accents or compatibility forms (ligatures, full-width letters). */
export function foldText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/[æ]/g, 'ae')
    .replace(/[ø]/g, 'o')
    .replace(/[œ]/g, 'oe')
    .replace(/[ł]/g, 'l')
    .replace(/[đ]/g, 'd');
}

const WORD = /\p{Script=Han}|[\p{L}\p{N}]+/gu;

export function tokenize(text: string): string[] {
  return foldText(text).match(WORD) ?? [];
}

export interface DocToken {
  term: string;
  /** Word position across the whole document (for phrases). */
  position: number;
  /** Index of the line the word is on. */
  line: number;
}

/** Every word of a document's lines with its position and line. */
export function documentTokens(lines: readonly string[]): DocToken[] {
  const out: DocToken[] = [];
  let position = 0;
  lines.forEach((text, line) => {
    for (const term of tokenize(text)) out.push({ term, position: position++, line });
  });
  return out;
}

/** One row per distinct term of the document: the postings written to ocr_postings. */
export function postingsOf(lines: readonly string[]): { length: number; terms: Map<string, { positions: number[]; lines: number[] }> } {
  const tokens = documentTokens(lines);
  const terms = new Map<string, { positions: number[]; lines: number[] }>();
  for (const t of tokens) {
    let p = terms.get(t.term);
    if (!p) terms.set(t.term, (p = { positions: [], lines: [] }));
    p.positions.push(t.position);
    p.lines.push(t.line);
  }
  return { length: tokens.length, terms };
}

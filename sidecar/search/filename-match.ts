/** Scores how well free words match a file's name and folders. */

export interface TermMatch {
  score: number;
  where: 'filename' | 'folder';
}

/** Splits "RedFlower_02-final.jpg" into ["red", "flower", "02", "final", "jpg"]. */
export function pathWords(text: string): string[] {
  return text
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([a-zA-Z])(\d)/g, '$1 $2')
    .replace(/(\d)([a-zA-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** Light English singularisation, enough for "flowers" ~ "flower", "puppies" ~ "puppy". */
export function singular(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && /(ches|shes|xes|ses|zes)$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

function scoreWords(term: string, words: string[], text: string): number {
  const t = singular(term);
  let best = 0;
  for (const w of words) {
    if (w === term || singular(w) === t) return 1;
    if (term.length >= 2 && w.startsWith(term)) best = Math.max(best, 0.8);
  }
  if (best === 0 && term.length >= 3 && text.includes(term)) best = 0.6;
  return best;
}

/** Best match of one term in a path: the file name weighs more than the folders above it. */
export function matchTerm(term: string, relPath: string): TermMatch | null {
  const slash = relPath.lastIndexOf('/');
  const name = relPath.slice(slash + 1);
  const stem = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : name;
  const phraseWords = pathWords(term);
  const normalisedTerm = phraseWords.join(' ');
  const nameWords = pathWords(stem);
  const nameText = nameWords.join(' ');
  const nameScore =
    phraseWords.length > 1
      ? nameText.includes(normalisedTerm) ? 1 : 0
      : scoreWords(normalisedTerm || term, nameWords, stem.toLowerCase());
  if (nameScore > 0) return { score: nameScore, where: 'filename' };
  if (slash < 0) return null;
  const folder = relPath.slice(0, slash);
  const folderWords = pathWords(folder);
  const folderScore =
    phraseWords.length > 1
      ? folderWords.join(' ').includes(normalisedTerm) ? 1 : 0
      : scoreWords(normalisedTerm || term, folderWords, folder.toLowerCase());
  return folderScore > 0 ? { score: folderScore * 0.5, where: 'folder' } : null;
}

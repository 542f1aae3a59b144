/**
 * Which optional analyzers the user turned on. The extension passes its settings as LOUPE_ANALYZERS
 * (comma-separated names, or "none"); unset means all of them (the CLI's default).
 */
export type OptionalAnalyzer = 'tags' | 'faces' | 'ocr' | 'clip';

export function analyzerEnabled(name: OptionalAnalyzer, env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env.LOUPE_ANALYZERS;
  if (raw === undefined || raw.trim() === '') return true;
  return raw.split(',').map((s) => s.trim().toLowerCase()).includes(name);
}

import ignore, { type Ignore } from 'ignore';
import picomatch from 'picomatch';

/** Exclusions applied before .gitignore; the `loupe.exclude` setting replaces this list. */
export const DEFAULT_EXCLUDES: readonly string[] = ['**/node_modules', '**/.git', '**/.loupe'];

/** Matches paths (relative to the root, '/'-separated) against the user's exclude globs. */
export function compileExcludes(globs: readonly string[]): (relPath: string) => boolean {
  if (globs.length === 0) return () => false;
  const matchers = globs.map((g) => picomatch(g, { dot: true }));
  // A glob such as "**/build" should also exclude everything below build/.
  return (relPath) => matchers.some((m) => m(relPath));
}

/** The .gitignore files that apply to one directory, innermost last. */
export class GitignoreStack {
  private constructor(private readonly layers: ReadonlyArray<{ base: string; rules: Ignore }>) {}

  static empty(): GitignoreStack {
    return new GitignoreStack([]);
  }

  /** Returns a stack with `dirRel`'s own .gitignore added (dirRel is '' for the root). */
  with(dirRel: string, gitignoreText: string): GitignoreStack {
    return new GitignoreStack([...this.layers, { base: dirRel, rules: ignore().add(gitignoreText) }]);
  }

  ignores(relPath: string, isDir: boolean): boolean {
    let ignored = false;
    for (const { base, rules } of this.layers) {
      const local = base === '' ? relPath : relPath.slice(base.length + 1);
      const test = rules.test(isDir ? `${local}/` : local);
      if (test.ignored) ignored = true;
      else if (test.unignored) ignored = false;
    }
    return ignored;
  }
}

/** Virtual grid arithmetic: which cells are on screen. Pure, so it is unit-tested. */
export interface GridGeometry {
  width: number;
  cell: number;
  gap: number;
}

export function columnsFor(g: GridGeometry): number {
  return Math.max(1, Math.floor((g.width + g.gap) / (g.cell + g.gap)));
}

export function totalHeight(count: number, g: GridGeometry): number {
  const rows = Math.ceil(count / columnsFor(g));
  return rows === 0 ? 0 : rows * (g.cell + g.gap) - g.gap;
}

/** Index range [start, end) of the cells to render for a viewport, with `overscan` extra rows. */
export function visibleRange(count: number, scrollTop: number, viewport: number, g: GridGeometry, overscan = 2): { start: number; end: number } {
  const cols = columnsFor(g);
  const row = g.cell + g.gap;
  const first = Math.max(0, Math.floor(scrollTop / row) - overscan);
  const last = Math.ceil((scrollTop + viewport) / row) + overscan;
  return { start: Math.min(count, first * cols), end: Math.min(count, last * cols) };
}

export function cellPosition(index: number, g: GridGeometry): { left: number; top: number } {
  const cols = columnsFor(g);
  return { left: (index % cols) * (g.cell + g.gap), top: Math.floor(index / cols) * (g.cell + g.gap) };
}

/** The index an arrow key moves focus to. */
export function moveFocus(index: number, key: string, count: number, g: GridGeometry, pageRows = 5): number {
  const cols = columnsFor(g);
  const next =
    key === 'ArrowRight' ? index + 1 :
    key === 'ArrowLeft' ? index - 1 :
    key === 'ArrowDown' ? index + cols :
    key === 'ArrowUp' ? index - cols :
    key === 'PageDown' ? index + cols * pageRows :
    key === 'PageUp' ? index - cols * pageRows :
    key === 'Home' ? 0 :
    key === 'End' ? count - 1 : index;
  return Math.max(0, Math.min(count - 1, next));
}

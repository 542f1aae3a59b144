/** Shared pieces of the panel: state placeholders, chips, and a keyboard-operable virtual grid. */
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { cellPosition, columnsFor, moveFocus, totalHeight, visibleRange, type GridGeometry } from '../gallery/grid-layout';
import { formatBytes } from '../../sidecar/util/format-bytes';

export { formatBytes };

export function Loading({ what }: { what: string }) {
  return <div class="state" role="status" aria-live="polite"><span class="spinner" aria-hidden="true" /> Loading {what}…</div>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="state empty">{children}</div>;
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div class="state error" role="alert">
      {error instanceof Error ? error.message : String(error)}
      {retry && <button type="button" class="link" onClick={retry}>Try again</button>}
    </div>
  );
}

export function Chip({ children, title }: { children: ComponentChildren; title?: string }) {
  return <span class="chip" title={title}>{children}</span>;
}


/** Something that loads: loading / error / value, re-run when `deps` change. */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]): { value: T | null; error: unknown; loading: boolean; reload: () => void } {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    fn().then(
      (v) => live && (setValue(v), setError(null), setLoading(false)),
      (e: unknown) => live && (setError(e), setLoading(false)),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { value, error, loading, reload: () => setTick((t) => t + 1) };
}

export interface GridProps<T> {
  items: T[];
  label: string;
  cell?: number;
  render: (item: T, index: number) => ComponentChildren;
  itemLabel: (item: T) => string;
  onOpen: (item: T, index: number) => void;
  onDelete?: (item: T) => void;
  onNearEnd?: () => void;
  selected?: number;
}

/**
 * A grid that keeps only the visible rows in the DOM (50,000 items cost what 50 do), with roving
 * focus: arrow keys / PageUp / PageDown / Home / End move, Enter opens, Delete asks to trash.
 */
export function VirtualGrid<T>({ items, label, cell = 120, render, itemLabel, onOpen, onDelete, onNearEnd, selected }: GridProps<T>) {
  const scroller = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(600);
  const [height, setHeight] = useState(400);
  const [scrollTop, setScrollTop] = useState(0);
  const [focus, setFocus] = useState(0);
  const g: GridGeometry = { width, cell, gap: 6 };
  useLayoutEffect(() => {
    const el = scroller.current!;
    const ro = new ResizeObserver(() => {
      setWidth(el.clientWidth - 12);
      setHeight(el.clientHeight);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useEffect(() => setFocus((f) => Math.min(f, Math.max(0, items.length - 1))), [items.length]);
  const { start, end } = visibleRange(items.length, scrollTop, height, g);
  useEffect(() => {
    if (end >= items.length - columnsFor(g) * 3) onNearEnd?.();
  }, [end, items.length]);

  const focusCell = (i: number) => {
    setFocus(i);
    const el = scroller.current!;
    const pos = cellPosition(i, g);
    if (pos.top < el.scrollTop) el.scrollTop = pos.top;
    else if (pos.top + cell > el.scrollTop + el.clientHeight) el.scrollTop = pos.top + cell + 6 - el.clientHeight;
    requestAnimationFrame(() => (el.querySelector(`[data-index="${i}"]`) as HTMLElement | null)?.focus());
  };
  const onKey = (e: KeyboardEvent) => {
    if (items.length === 0) return;
    if (e.key === 'Enter') {
      e.preventDefault();
      onOpen(items[focus], focus);
    } else if (e.key === 'Delete' && onDelete) {
      e.preventDefault();
      onDelete(items[focus]);
    } else {
      const next = moveFocus(focus, e.key, items.length, g);
      if (next !== focus || /^(Arrow|Page|Home|End)/.test(e.key)) {
        e.preventDefault();
        focusCell(next);
      }
    }
  };
  const cells = [];
  for (let i = start; i < end; i++) {
    const pos = cellPosition(i, g);
    cells.push(
      <div
        key={i}
        class={`cell${selected === i ? ' selected' : ''}`}
        role="gridcell"
        aria-label={itemLabel(items[i])}
        aria-selected={selected === i}
        data-index={i}
        tabIndex={i === focus ? 0 : -1}
        style={{ transform: `translate(${pos.left}px, ${pos.top}px)`, width: `${cell}px`, height: `${cell}px` }}
        onClick={() => {
          setFocus(i);
          onOpen(items[i], i);
        }}
      >
        {render(items[i], i)}
      </div>,
    );
  }
  return (
    <div class="grid-scroller" ref={scroller} onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}>
      <div class="grid-canvas" role="grid" aria-label={label} data-items={items.length} aria-rowcount={Math.ceil(items.length / columnsFor(g))} style={{ height: `${totalHeight(items.length, g)}px` }} onKeyDown={onKey}>
        {cells}
      </div>
    </div>
  );
}

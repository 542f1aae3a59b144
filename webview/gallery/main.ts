/**
 * The gallery sidebar: a search box, filters and a virtualised thumbnail grid (only the visible rows
 * exist in the DOM, so 50,000 images scroll like 50). Items carry `data-vscode-context`, so the
 * right-click menu is VS Code's own (contributed `webview/context` commands). Keyboard: arrows move,
 * Enter opens, Delete moves to the trash (the extension asks first).
 */
import { cellPosition, columnsFor, moveFocus, totalHeight, visibleRange, type GridGeometry } from './grid-layout';
import type { GalleryFilters, GalleryItem, ToHost, ToWebview } from './messages';

declare function acquireVsCodeApi(): { postMessage(m: ToHost): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const searchBox = $<HTMLInputElement>('search');
const scroller = $<HTMLDivElement>('scroller');
const canvas = $<HTMLDivElement>('canvas');
const statusLine = $<HTMLDivElement>('status');
const filterInputs = {
  folder: $<HTMLInputElement>('f-folder'),
  tag: $<HTMLInputElement>('f-tag'),
  person: $<HTMLInputElement>('f-person'),
  hasText: $<HTMLInputElement>('f-text'),
  date: $<HTMLInputElement>('f-date'),
  large: $<HTMLSelectElement>('f-large'),
};
const peopleList = $<HTMLDataListElement>('people');

const geometry: GridGeometry = { width: 300, cell: 96, gap: 4 };
let items: GalleryItem[] = [];
let total = 0;
let nextCursor: string | null = null;
let seq = 0;
let loadingMore = false;
let focusIndex = -1;
const rendered = new Map<number, HTMLElement>();

function filters(): GalleryFilters {
  return {
    folder: filterInputs.folder.value,
    tag: filterInputs.tag.value,
    person: filterInputs.person.value,
    hasText: filterInputs.hasText.checked,
    date: filterInputs.date.value,
    large: filterInputs.large.value as GalleryFilters['large'],
  };
}

function query(append: boolean): void {
  if (append && (!nextCursor || loadingMore)) return;
  if (!append) seq++;
  loadingMore = append;
  vscode.postMessage({ type: 'query', seq, text: searchBox.value, filters: filters(), cursor: append ? nextCursor : null });
  vscode.setState({ text: searchBox.value, filters: filters() });
}

let debounce: number | undefined;
function queryLater(): void {
  window.clearTimeout(debounce);
  debounce = window.setTimeout(() => query(false), 150);
}

function cellFor(index: number): HTMLElement {
  const item = items[index];
  const el = document.createElement('div');
  el.className = 'cell';
  el.setAttribute('role', 'gridcell');
  el.tabIndex = index === focusIndex ? 0 : -1;
  el.dataset.index = String(index);
  el.setAttribute('aria-label', `${item.relPath}${item.reasons.length ? `, ${item.reasons.join(', ')}` : ''}`);
  el.title = `${item.relPath}${item.width ? `\n${item.width}×${item.height}` : ''}${item.reasons.length ? `\n${item.reasons.join(' · ')}` : ''}`;
  el.setAttribute('data-vscode-context', JSON.stringify({ webviewSection: 'image', preventDefaultContextMenuItems: true, root: item.root, id: item.id, relPath: item.relPath }));
  el.draggable = true;
  if (item.thumb) {
    const img = document.createElement('img');
    img.src = item.thumb;
    img.alt = '';
    img.loading = 'lazy';
    img.decoding = 'async';
    el.appendChild(img);
  } else {
    el.classList.add('no-thumb');
    el.textContent = item.relPath.split('/').pop() ?? '';
  }
  const pos = cellPosition(index, geometry);
  el.style.transform = `translate(${pos.left}px, ${pos.top}px)`;
  el.style.width = el.style.height = `${geometry.cell}px`;
  return el;
}

/** Renders the visible window; cells that stay visible are kept, so scrolling only touches the edges. */
function render(): void {
  geometry.width = scroller.clientWidth - 8;
  canvas.style.height = `${totalHeight(items.length, geometry)}px`;
  canvas.dataset.items = String(items.length); // how many results are loaded (tests and benchmarks read it)
  const { start, end } = visibleRange(items.length, scroller.scrollTop, scroller.clientHeight, geometry);
  for (const [i, el] of rendered) {
    if (i < start || i >= end) {
      el.remove();
      rendered.delete(i);
    }
  }
  for (let i = start; i < end; i++) {
    if (rendered.has(i)) continue;
    const el = cellFor(i);
    rendered.set(i, el);
    canvas.appendChild(el);
  }
  if (end >= items.length - columnsFor(geometry) * 4) query(true);
}

function relayout(): void {
  for (const el of rendered.values()) el.remove();
  rendered.clear();
  render();
}

function setFocus(index: number): void {
  if (items.length === 0) return;
  focusIndex = index;
  const pos = cellPosition(index, geometry);
  const row = geometry.cell + geometry.gap;
  if (pos.top < scroller.scrollTop) scroller.scrollTop = pos.top;
  else if (pos.top + row > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = pos.top + row - scroller.clientHeight;
  render();
  for (const [i, el] of rendered) el.tabIndex = i === index ? 0 : -1;
  rendered.get(index)?.focus();
}

function itemAt(target: EventTarget | null): GalleryItem | null {
  const cell = (target as HTMLElement | null)?.closest?.('.cell') as HTMLElement | null;
  return cell ? items[Number(cell.dataset.index)] ?? null : null;
}

searchBox.addEventListener('input', queryLater);
for (const input of Object.values(filterInputs)) input.addEventListener(input instanceof HTMLInputElement && input.type !== 'checkbox' ? 'input' : 'change', queryLater);
scroller.addEventListener('scroll', () => render(), { passive: true });
new ResizeObserver(() => relayout()).observe(scroller);

canvas.addEventListener('dblclick', (e) => {
  const item = itemAt(e.target);
  if (item) vscode.postMessage({ type: 'open', item });
});
canvas.addEventListener('click', (e) => {
  const cell = (e.target as HTMLElement).closest('.cell') as HTMLElement | null;
  if (cell) setFocus(Number(cell.dataset.index));
});
canvas.addEventListener('keydown', (e) => {
  if (focusIndex < 0) return;
  const item = items[focusIndex];
  if (e.key === 'Enter') {
    vscode.postMessage({ type: 'open', item });
    e.preventDefault();
  } else if (e.key === 'Delete') {
    vscode.postMessage({ type: 'trash', item });
    e.preventDefault();
  } else {
    const next = moveFocus(focusIndex, e.key, items.length, geometry);
    if (next !== focusIndex || e.key.startsWith('Arrow')) {
      e.preventDefault();
      setFocus(next);
    }
  }
});
searchBox.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowDown' && items.length > 0) {
    e.preventDefault();
    setFocus(Math.max(0, focusIndex));
  }
});
canvas.addEventListener('dragstart', (e) => {
  const item = itemAt(e.target);
  if (!item || !e.dataTransfer) return;
  e.dataTransfer.setData('application/vnd.loupe.images+json', JSON.stringify([{ root: item.root, id: item.id, relPath: item.relPath }]));
  e.dataTransfer.setData('text/uri-list', `file://${encodeURI(`${item.root}/${item.relPath}`)}`);
  e.dataTransfer.effectAllowed = 'copy';
});

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const m = event.data;
  switch (m.type) {
    case 'results':
      if (m.seq !== seq) return; // an older query
      loadingMore = false;
      if (m.append) items = items.concat(m.items);
      else {
        items = m.items;
        focusIndex = items.length > 0 ? 0 : -1;
        scroller.scrollTop = 0;
      }
      total = m.total;
      nextCursor = m.nextCursor;
      statusLine.textContent = total === 0 ? (searchBox.value || Object.values(filters()).some(Boolean) ? 'No images match.' : 'No images indexed yet.') : `${total.toLocaleString()} image${total === 1 ? '' : 's'}`;
      if (m.note) statusLine.textContent += ` · ${m.note}`;
      document.body.dataset.count = String(items.length);
      relayout();
      break;
    case 'error':
      if (m.seq !== seq) return;
      loadingMore = false;
      statusLine.textContent = m.message;
      break;
    case 'status':
      statusLine.textContent = m.text;
      break;
    case 'people':
      peopleList.replaceChildren(...m.names.map((n) => Object.assign(document.createElement('option'), { value: n })));
      break;
    case 'refresh':
      query(false);
      break;
  }
});

const saved = vscode.getState() as { text?: string; filters?: GalleryFilters } | undefined;
if (saved?.text) searchBox.value = saved.text;
if (saved?.filters) {
  filterInputs.folder.value = saved.filters.folder;
  filterInputs.tag.value = saved.filters.tag;
  filterInputs.person.value = saved.filters.person;
  filterInputs.hasText.checked = saved.filters.hasText;
  filterInputs.date.value = saved.filters.date;
  filterInputs.large.value = saved.filters.large ?? '';
}
vscode.postMessage({ type: 'ready' });

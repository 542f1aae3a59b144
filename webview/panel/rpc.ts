/** The panel's side of the host bridge: typed requests to the sidecar, notifications, host actions. */
import type { RequestType } from 'vscode-jsonrpc';
import type * as P from '../../sidecar/protocol';
import type { HostToPanel, PanelToHost, PanelView } from './bridge-messages';

type Req<T> = T extends RequestType<infer Params, infer Result, void> ? [Params, Result] : never;

/** The sidecar methods the panel uses, typed from the shared protocol. */
export interface Api {
  'index/status': Req<typeof P.IndexStatusRequest>;
  search: Req<typeof P.SearchRequest>;
  similar: Req<typeof P.SimilarRequest>;
  'asset/get': Req<typeof P.AssetGetRequest>;
  'duplicates/list': Req<typeof P.DuplicatesListRequest>;
  'duplicates/resolve': Req<typeof P.DuplicatesResolveRequest>;
  'duplicates/undo': Req<typeof P.DuplicatesUndoRequest>;
  'duplicates/dismiss': Req<typeof P.DuplicatesDismissRequest>;
  'duplicates/history': Req<typeof P.DuplicatesHistoryRequest>;
  'files/trash': Req<typeof P.FilesTrashRequest>;
  'files/restore': Req<typeof P.FilesRestoreRequest>;
  'people/list': Req<typeof P.PeopleListRequest>;
  'people/get': Req<typeof P.PeopleGetRequest>;
  'people/name': Req<typeof P.PeopleNameRequest>;
  'people/merge': Req<typeof P.PeopleMergeRequest>;
  'people/split': Req<typeof P.PeopleSplitRequest>;
  'faces/assign': Req<typeof P.FacesAssignRequest>;
  'faces/reject': Req<typeof P.FacesRejectRequest>;
  'faces/suggestions': Req<typeof P.FacesSuggestionsRequest>;
  'faces/crop': Req<typeof P.FacesCropRequest>;
}

interface VsCodeApi {
  postMessage(m: PanelToHost): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const api = acquireVsCodeApi();
let nextId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: RpcError) => void }>();
const confirms = new Map<number, (ok: boolean) => void>();
const listeners = new Map<string, Set<(params: unknown) => void>>();
const showListeners = new Set<(view: PanelView, query?: string) => void>();

export class RpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Calls a sidecar method through the host. */
export function call<M extends keyof Api>(method: M, params: Api[M][0]): Promise<Api[M][1]> {
  return callRaw(method, params) as Promise<Api[M][1]>;
}

/** For methods the protocol file does not type yet (optional analyzers). */
export function callRaw(method: string, params: unknown): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    api.postMessage({ type: 'rpc', id, method, params });
  });
}

export function onNotification(method: string, fn: (params: unknown) => void): () => void {
  let set = listeners.get(method);
  if (!set) listeners.set(method, (set = new Set()));
  set.add(fn);
  return () => set!.delete(fn);
}

export function onShow(fn: (view: PanelView, query?: string) => void): () => void {
  showListeners.add(fn);
  return () => showListeners.delete(fn);
}

export const host = {
  open: (path: string) => api.postMessage({ type: 'open', path }),
  reveal: (path: string) => api.postMessage({ type: 'reveal', path }),
  copy: (text: string) => api.postMessage({ type: 'copy', text }),
  optimise: (path: string) => api.postMessage({ type: 'optimise', path }),
  confirm: (message: string, detail: string, action: string): Promise<boolean> =>
    new Promise((resolve) => {
      const id = nextId++;
      confirms.set(id, resolve);
      api.postMessage({ type: 'confirm', id, message, detail, action });
    }),
};

export const state = {
  get: <T>(): T | undefined => api.getState() as T | undefined,
  set: (s: unknown) => api.setState(s),
};

window.addEventListener('message', (e: MessageEvent<HostToPanel>) => {
  const m = e.data;
  switch (m.type) {
    case 'rpc-result': {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) p.reject(new RpcError(m.error.code, m.error.message));
      else p.resolve(m.result);
      return;
    }
    case 'notification':
      listeners.get(m.method)?.forEach((fn) => fn(m.params));
      return;
    case 'confirmed':
      confirms.get(m.id)?.(m.ok);
      confirms.delete(m.id);
      return;
    case 'show':
      showListeners.forEach((fn) => fn(m.view, m.query));
      return;
  }
});

export function ready(): void {
  api.postMessage({ type: 'ready' });
}

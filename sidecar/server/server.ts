import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { faceCrop } from '../faces/crops';
import { createMessageConnection, ResponseError, type MessageConnection } from 'vscode-jsonrpc/node';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  AssetByPathRequest,
  AssetGetRequest,
  OcrSearchRequest,
  AuthNotification,
  DuplicatesDismissRequest,
  DuplicatesHistoryRequest,
  DuplicatesListRequest,
  DuplicatesResolveRequest,
  DuplicatesUndoRequest,
  FacesAssignRequest,
  FacesCropRequest,
  FilesRestoreRequest,
  FilesTrashRequest,
  FacesDeleteAllRequest,
  FacesRejectRequest,
  FacesSuggestionsRequest,
  PeopleGetRequest,
  PeopleListRequest,
  PeopleMergeRequest,
  PeopleNameRequest,
  PeopleSplitRequest,
  IndexCancelRequest,
  IndexChangedNotification,
  IndexErrorsRequest,
  IndexRescanRequest,
  IndexStatusRequest,
  InitializeRequest,
  LoupeErrorCodes,
  PROTOCOL_VERSION,
  SearchRequest,
  ShutdownRequest,
  SimilarRequest,
  SemanticEnableRequest,
  SemanticStatusRequest,
  ThumbnailPathRequest,
  TransformApplyRequest,
  TransformPreviewRequest,
  TransformUndoRequest,
  loupeError,
  type AuthParams,
  type InitializeParams,
  type RootedSearchHit,
  type SearchParams,
  type SearchResponse,
  type ServerHandshake,
} from '../protocol';
import { WebSocketMessageReader, WebSocketMessageWriter } from '../ws-transport';
import { VERSION } from '../version';
import type { IndexProgress } from '../pipeline/progress';
import { bearerToken, newToken, refuseReason, tokenMatches } from './auth';
import type { Logger } from './log';
import type { RootService } from './root-service';
import { searchRoots } from './root-search';
import { processMemory } from '../util/process-memory';
import { attachEmbeddingIndex } from '../vectors/registry';
import { similarImages } from '../vectors/similar';
import { enableSemantic, semanticStatus } from './semantic-rpc';
import { parseOptions } from '../transform/options';
import type { CancellationToken } from 'vscode-jsonrpc';

const AUTH_TIMEOUT_MS = 5000;

interface ClientSession {
  id: number;
  connection: MessageConnection;
  socket: WebSocket;
  wantsProgress: boolean;
  /** Server-created progress tokens per run, per root. */
  progressTokens: Map<string, string>;
  /** Cancellable jobs other than index runs (model downloads), by progress token. */
  progressCancels: Map<string | number, AbortController>;
  /** Running `transform/apply` batches by their client work-done token. */
  transformAborts: Map<string | number, AbortController>;
}

export interface LoupeServerOptions {
  roots: RootService[];
  port?: number;
  logger: Logger;
  /** Called whenever the number of connected clients changes (idle shutdown). */
  onClientCount?: (count: number) => void;
  onShutdownRequest?: () => void;
}

function progressValue(p: IndexProgress): { kind: 'report'; message: string; percentage?: number } {
  if (p.phase === 'scan') return { kind: 'report', message: `scanning: ${p.done} files` };
  const eta = p.etaSeconds !== null ? `, about ${Math.ceil(p.etaSeconds)} s left` : '';
  return {
    kind: 'report',
    message: `${p.done}/${p.total} images${p.failed ? `, ${p.failed} failed` : ''}${eta}`,
    percentage: p.total > 0 ? Math.floor((100 * p.done) / p.total) : undefined,
  };
}

/** The WebSocket JSON-RPC server: loopback only, token required, no browser origins. */
export class LoupeServer {
  readonly token = newToken();
  private http: Server | null = null;
  private wss: WebSocketServer | null = null;
  private readonly sessions = new Set<ClientSession>();
  private nextSessionId = 1;
  private port = 0;

  constructor(private readonly options: LoupeServerOptions) {
    for (const root of options.roots) this.wireRoot(root);
  }

  get clientCount(): number {
    return this.sessions.size;
  }

  handshake(): ServerHandshake {
    return { port: this.port, token: this.token, pid: process.pid, version: VERSION, protocol: PROTOCOL_VERSION };
  }

  async listen(): Promise<ServerHandshake> {
    this.http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('Loupe sidecar: WebSocket only\n');
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    await new Promise<void>((resolveListen, reject) => {
      this.http!.once('error', reject);
      this.http!.listen(this.options.port ?? 0, '127.0.0.1', () => resolveListen());
    });
    const address = this.http.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.handshake();
  }

  private log(level: 'info' | 'warn' | 'error' | 'debug', msg: string): void {
    this.options.logger.log(level, msg);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const reject = (status: number, why: string) => {
      this.log('warn', `refused connection from ${peer}: ${why}`);
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const refusal = refuseReason(req, this.port);
    if (refusal) return reject(403, refusal);
    const headerToken = bearerToken(req);
    if (headerToken !== null && !tokenMatches(this.token, headerToken)) return reject(401, 'wrong token in Authorization header');
    this.wss!.handleUpgrade(req, socket, head, (ws) => {
      if (headerToken !== null) {
        this.startSession(ws, peer);
        return;
      }
      // No header: the first frame must be the auth notification.
      const timer = setTimeout(() => {
        this.log('warn', `refused connection from ${peer}: no token within ${AUTH_TIMEOUT_MS} ms`);
        ws.close(4401, 'authentication required');
      }, AUTH_TIMEOUT_MS);
      ws.once('message', (data, isBinary) => {
        clearTimeout(timer);
        let params: AuthParams | null = null;
        try {
          const msg = JSON.parse(isBinary ? '' : data.toString()) as { method?: string; params?: AuthParams };
          if (msg.method === AuthNotification.method) params = msg.params ?? null;
        } catch {
          params = null;
        }
        if (!params || !tokenMatches(this.token, params.token)) {
          this.log('warn', `refused connection from ${peer}: ${params ? 'wrong token' : 'first message was not auth'}`);
          ws.close(4401, 'authentication failed');
          return;
        }
        this.startSession(ws, peer);
      });
    });
  }

  private startSession(socket: WebSocket, peer: string): void {
    const connection = createMessageConnection(new WebSocketMessageReader(socket), new WebSocketMessageWriter(socket), {
      error: (m) => this.log('error', m),
      warn: (m) => this.log('warn', m),
      info: (m) => this.log('debug', m),
      log: (m) => this.log('debug', m),
    });
    const session: ClientSession = { id: this.nextSessionId++, connection, socket, wantsProgress: false, progressTokens: new Map(), progressCancels: new Map(), transformAborts: new Map() };
    this.sessions.add(session);
    this.log('info', `client ${session.id} connected from ${peer} (${this.sessions.size} connected)`);
    this.options.onClientCount?.(this.sessions.size);
    this.registerHandlers(session);
    connection.onClose(() => this.endSession(session));
    socket.on('close', () => this.endSession(session));
    connection.listen();
  }

  private endSession(session: ClientSession): void {
    if (!this.sessions.delete(session)) return;
    session.connection.dispose();
    this.log('info', `client ${session.id} disconnected (${this.sessions.size} connected)`);
    this.options.onClientCount?.(this.sessions.size);
  }

  private rootFor(root: string | undefined): RootService[] {
    if (root === undefined || root === null) return this.options.roots;
    const wanted = resolve(root);
    const match = this.options.roots.find((r) => r.root === wanted);
    if (!match) throw loupeError(LoupeErrorCodes.UnknownRoot, `this sidecar does not serve ${root}`);
    return [match];
  }

  private registerHandlers(session: ClientSession): void {
    const c = session.connection;
    const guard = <P, R>(fn: (params: P) => Promise<R> | R) => async (params: P): Promise<R | ResponseError<void>> => {
      try {
        return await fn(params);
      } catch (err) {
        if (err instanceof ResponseError) return err;
        this.log('error', `request failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        return loupeError(LoupeErrorCodes.InternalError, err instanceof Error ? err.message : String(err));
      }
    };

    c.onRequest(InitializeRequest, guard((params: InitializeParams) => {
      session.wantsProgress = params?.capabilities?.window?.workDoneProgress === true;
      return { capabilities: {}, serverInfo: { name: 'loupe', version: VERSION }, roots: this.options.roots.map((r) => r.root) };
    }));
    c.onNotification('initialized', () => undefined);
    c.onRequest(ShutdownRequest, guard(() => {
      this.options.onShutdownRequest?.();
      return null;
    }));
    c.onNotification('exit', () => session.socket.close(1000));
    c.onNotification('window/workDoneProgress/cancel', (params: { token?: string | number }) => {
      for (const [root, token] of session.progressTokens) {
        if (token === params?.token) this.rootFor(root)[0].cancel();
      }
      if (params?.token !== undefined) session.progressCancels.get(params.token)?.abort();
      if (params?.token !== undefined) session.transformAborts.get(params.token)?.abort();
    });

    c.onRequest(IndexStatusRequest, guard(async (params) => ({
      roots: await Promise.all(this.rootFor(params?.root).map((r) => r.status())),
      memory: processMemory(),
    })));
    c.onRequest(IndexRescanRequest, guard((params) => {
      const roots = this.rootFor(params?.root);
      for (const r of roots) {
        r.requestRun('requested by client');
        if (params?.workDoneToken !== undefined) this.reportOnToken(session, r, params.workDoneToken);
      }
      return { started: roots.map((r) => r.root) };
    }));
    c.onRequest(IndexCancelRequest, guard((params) => ({
      cancelled: this.rootFor(params?.root).filter((r) => r.cancel()).map((r) => r.root),
    })));
    c.onRequest(IndexErrorsRequest, guard(async (params) => ({
      failures: (await Promise.all(this.rootFor(params?.root).map((r) => r.failures(Math.min(params?.limit ?? 1000, 10_000))))).flat(),
    })));
    c.onRequest(SearchRequest, guard((params: SearchParams): Promise<SearchResponse> => {
      if (!params || typeof params.query !== 'string') throw loupeError(LoupeErrorCodes.InvalidParams, 'search needs a "query" string');
      return searchRoots(this.rootFor(params.root), params);
    }));
    c.onRequest(SimilarRequest, guard(async (params) => {
      if (!params || typeof params.id !== 'number') throw loupeError(LoupeErrorCodes.InvalidParams, 'similar needs root and a numeric id');
      const [root] = this.rootFor(params.root);
      return similarImages(root.root, root.catalog, params.id, params.limit);
    }));
    c.onRequest(AssetGetRequest, guard(async (params) => {
      const [root] = this.rootFor(params?.root);
      const details = await root.details(params.id);
      if (!details) throw loupeError(LoupeErrorCodes.UnknownAsset, `no asset ${params.id} in ${root.root}`);
      return details;
    }));
    c.onRequest(AssetByPathRequest, guard(async (params) => {
      const path = typeof params?.path === 'string' ? resolve(params.path) : '';
      if (!path) throw loupeError(LoupeErrorCodes.InvalidParams, 'path is required');
      for (const r of this.options.roots) {
        const rel = relative(r.root, path);
        if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue;
        const asset = await r.catalog.getAssetByPath(rel.split(sep).join('/'));
        if (asset) return r.details(asset.id);
      }
      return null;
    }));
    c.onRequest(OcrSearchRequest, guard(async (params) => {
      if (!params || typeof params.query !== 'string') throw loupeError(LoupeErrorCodes.InvalidParams, 'ocr/search needs a "query" string');
      const limit = Math.max(1, Math.min(params.limit ?? 50, 1000));
      const results = await Promise.all(this.rootFor(params.root).map(async (r) => ({ root: r.root, ...(await r.searchText(params.query, limit)) })));
      const items = results.flatMap((x) => x.items.map((i) => ({ ...i, root: x.root })));
      items.sort((a, b) => b.matched - a.matched || b.score - a.score);
      // With thumbnails, so a list of hits can show each image (one catalog read per root).
      const top = items.slice(0, limit);
      const thumbs = new Map<string, string | null>();
      for (const r of this.rootFor(params.root)) {
        const ids = top.filter((i) => i.root === r.root).map((i) => i.id);
        if (ids.length === 0) continue;
        for (const f of await r.catalog.loadSearchRows(ids)) thumbs.set(`${r.root}\n${f.id}`, f.thumb ? join(r.catalog.thumbsDir, f.thumb) : null);
      }
      const shown = top.map((i) => ({ ...i, thumbnail: thumbs.get(`${i.root}\n${i.id}`) ?? null }));
      return { query: params.query, items: shown, total: results.reduce((a, x) => a + x.total, 0) };
    }));
    c.onRequest(DuplicatesListRequest, guard(async (params) => {
      const reports = await Promise.all(this.rootFor(params?.root).map(async (r) => ({ root: r.root, report: await r.duplicates() })));
      return {
        groups: reports.flatMap(({ root, report }) => report.groups.map((g) => ({ ...g, root }))),
        reclaimableBytes: reports.reduce((a, { report }) => a + report.reclaimableBytes, 0),
        notes: [...new Set(reports.flatMap(({ report }) => report.notes))],
      };
    }));
    const resolutionGuard = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof Error && err.name === 'ResolutionError') throw loupeError(LoupeErrorCodes.ResolutionFailed, err.message);
        throw err;
      }
    };
    c.onRequest(DuplicatesResolveRequest, guard((params) => {
      if (!params || !Array.isArray(params.keep) || typeof params.groupKey !== 'string') {
        throw loupeError(LoupeErrorCodes.InvalidParams, 'duplicates/resolve needs root, groupKey and keep');
      }
      const [root] = this.rootFor(params.root);
      return resolutionGuard(() => root.resolveDuplicates({ groupKey: params.groupKey, keep: params.keep, trash: params.trash }));
    }));
    c.onRequest(DuplicatesUndoRequest, guard((params) => {
      const [root] = this.rootFor(params?.root);
      return resolutionGuard(() => root.undoResolution(params.id));
    }));
    c.onRequest(FilesTrashRequest, guard((params) => {
      const [root] = this.rootFor(params?.root);
      const ids = Array.isArray(params?.ids) ? params.ids.filter((n) => Number.isInteger(n)) : [];
      return resolutionGuard(() => root.trash(ids));
    }));
    c.onRequest(FilesRestoreRequest, guard((params) => {
      const [root] = this.rootFor(params?.root);
      return resolutionGuard(() => root.undoResolution(params.id));
    }));
    c.onRequest(DuplicatesDismissRequest, guard(async (params) => {
      const [root] = this.rootFor(params?.root);
      await root.dismissDuplicates(params.groupKey);
      return { dismissed: params.groupKey };
    }));
    c.onRequest(DuplicatesHistoryRequest, guard(async (params) => ({
      resolutions: (await Promise.all(this.rootFor(params?.root).map(async (r) => (await r.resolutions(params?.limit ?? 50)).map((x) => ({ ...x, root: r.root }))))).flat(),
    })));
    // People: FaceLibrary validates ids and names; its errors are the client's to fix.
    const people = async <T>(root: string | undefined, fn: (r: RootService) => Promise<T>): Promise<T> => {
      const [r] = this.rootFor(root);
      try {
        return await fn(r);
      } catch (err) {
        if (err instanceof Error && err.name === 'FaceLibraryError') throw loupeError(LoupeErrorCodes.InvalidParams, err.message);
        throw err;
      }
    };
    c.onRequest(PeopleListRequest, guard(async (params) => ({
      people: (await Promise.all(this.rootFor(params?.root).map(async (r) => (await r.people.listPeople({ includeClusters: params?.includeClusters ?? true })).map((p) => ({ ...p, root: r.root }))))).flat(),
    })));
    c.onRequest(PeopleGetRequest, guard((params) => people(params?.root, async (r) => {
      const person = await r.people.getPerson(params.personId);
      if (!person) throw loupeError(LoupeErrorCodes.InvalidParams, `no person ${params.personId}`);
      return person;
    })));
    c.onRequest(PeopleNameRequest, guard((params) => people(params?.root, (r) => {
      if (typeof params.name !== 'string') throw loupeError(LoupeErrorCodes.InvalidParams, 'people/name needs a name');
      if (typeof params.faceId === 'number') return r.people.nameFace(params.faceId, params.name);
      if (typeof params.personId === 'number') return r.people.namePerson(params.personId, params.name);
      throw loupeError(LoupeErrorCodes.InvalidParams, 'people/name needs personId or faceId');
    })));
    c.onRequest(PeopleMergeRequest, guard((params) => people(params?.root, (r) => r.people.merge(params.sourceIds, params.targetId))));
    c.onRequest(PeopleSplitRequest, guard((params) => people(params?.root, (r) => r.people.split(params.personId, params.faceIds, params.name ?? null))));
    c.onRequest(FacesAssignRequest, guard((params) => people(params?.root, (r) => r.people.assignFace(params.faceId, params.personId))));
    c.onRequest(FacesRejectRequest, guard((params) => people(params?.root, (r) => r.people.rejectSuggestion(params.faceId, params.personId))));
    c.onRequest(FacesCropRequest, guard((params) => people(params?.root, async (r) => {
      const face = await r.people.getFace(params.faceId);
      if (!face) throw loupeError(LoupeErrorCodes.InvalidParams, `no face ${params.faceId}`);
      return { thumbnail: await faceCrop(r.root, r.catalog.stateDir, face) };
    })));
    c.onRequest(FacesSuggestionsRequest, guard((params) => people(params?.root, async (r) => ({
      suggestions: await r.people.suggestions({ personId: params.personId, limit: params.limit, minConfidence: params.minConfidence }),
    }))));
    c.onRequest(FacesDeleteAllRequest, guard((params) => people(params?.root, (r) => r.people.deleteAllFaceData())));
    c.onRequest(SemanticStatusRequest, guard((params) => semanticStatus(this.rootFor(params?.root))));
    c.onRequest(SemanticEnableRequest, async (params, cancel) => {
      const abort = new AbortController();
      cancel.onCancellationRequested(() => abort.abort());
      // A client-given token gets $/progress; otherwise one the server creates, if the client takes them.
      let token: string | number | null = params?.workDoneToken ?? null;
      if (token === null && session.wantsProgress) {
        const created = `loupe-semantic-${process.pid}-${Date.now()}`;
        token = await session.connection.sendRequest('window/workDoneProgress/create', { token: created }).then(() => created, () => null);
      }
      if (token !== null) session.progressCancels.set(token, abort);
      const send = (value: unknown) => {
        if (token !== null) session.connection.sendNotification('$/progress', { token, value }).catch(() => undefined);
      };
      try {
        return await guard(() => enableSemantic(this.options.roots, params?.model, { signal: abort.signal, progress: send }))(params);
      } finally {
        if (token !== null) session.progressCancels.delete(token);
      }
    });
    // Optimising images: TransformError codes map to protocol errors; the journal's refusals to ResolutionFailed.
    const transform = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof Error && err.name === 'TransformError') {
          const code = (err as Error & { code: string }).code;
          if (code === 'invalid_options' || code === 'outside_root') throw loupeError(LoupeErrorCodes.InvalidParams, err.message);
          if (code === 'unknown_asset') throw loupeError(LoupeErrorCodes.UnknownAsset, err.message);
          throw loupeError(LoupeErrorCodes.TransformRefused, err.message);
        }
        if (err instanceof Error && err.name === 'ResolutionError') throw loupeError(LoupeErrorCodes.ResolutionFailed, err.message);
        throw err;
      }
    };
    c.onRequest(TransformPreviewRequest, guard((params) => transform(async () => {
      if (!params || typeof params.id !== 'number') throw loupeError(LoupeErrorCodes.InvalidParams, 'transform/preview needs root, a numeric id and options');
      const [root] = this.rootFor(params.root);
      const preview = await root.previewTransform(params.id, parseOptions(params.options));
      if (!preview) throw loupeError(LoupeErrorCodes.UnknownAsset, `no asset ${params.id} in ${root.root}`);
      return preview;
    })));
    c.onRequest(TransformApplyRequest, (params, cancel: CancellationToken) => guard(() => transform(async () => {
      if (!params || (!Array.isArray(params.ids) && typeof params.folder !== 'string')) {
        throw loupeError(LoupeErrorCodes.InvalidParams, 'transform/apply needs root and ids or folder');
      }
      if (params.mode !== undefined && params.mode !== 'beside' && params.mode !== 'replace') throw loupeError(LoupeErrorCodes.InvalidParams, 'mode must be "beside" or "replace"');
      const [root] = this.rootFor(params.root);
      const options = parseOptions(params.options);
      const relPaths = await root.selectImages({ ids: params.ids?.filter((n) => Number.isInteger(n)), folder: params.folder });
      const abort = new AbortController();
      const onCancel = cancel.onCancellationRequested(() => abort.abort());
      const token = params.workDoneToken;
      const send = (value: unknown) => {
        if (token !== undefined) session.connection.sendNotification('$/progress', { token, value }).catch(() => undefined);
      };
      if (token !== undefined) session.transformAborts.set(token, abort);
      send({ kind: 'begin', title: `Optimising ${relPaths.length} image${relPaths.length === 1 ? '' : 's'}`, cancellable: true, percentage: 0 });
      try {
        const result = await root.applyTransforms(
          relPaths,
          { options, mode: params.mode, overwrite: params.overwrite === true, pattern: typeof params.pattern === 'string' ? params.pattern : undefined },
          {
            signal: abort.signal,
            onProgress: (done, total, current) =>
              send({ kind: 'report', message: `${done}/${total}${current ? `: ${current}` : ''}`, percentage: total ? Math.floor((100 * done) / total) : 100 }),
          },
        );
        send({ kind: 'end', message: `${result.files.filter((f) => f.status === 'done').length} optimised${result.cancelled ? ' (cancelled)' : ''}` });
        return result;
      } catch (err) {
        send({ kind: 'end', message: 'failed' });
        throw err;
      } finally {
        onCancel.dispose();
        if (token !== undefined) session.transformAborts.delete(token);
      }
    }))(params));
    c.onRequest(TransformUndoRequest, guard((params) => transform(async () => {
      if (!params || typeof params.id !== 'number') throw loupeError(LoupeErrorCodes.InvalidParams, 'transform/undo needs root and a numeric id');
      const [root] = this.rootFor(params.root);
      return root.undoTransform(params.id);
    })));
    c.onRequest(ThumbnailPathRequest, guard(async (params) => {
      const [root] = this.rootFor(params?.root);
      const asset = await root.catalog.getAsset(params.id);
      if (!asset) throw loupeError(LoupeErrorCodes.UnknownAsset, `no asset ${params.id} in ${root.root}`);
      return { path: root.thumbnailPath(asset) };
    }));
  }

  /** Reports a root's current or next run on a client-provided work-done token. */
  private reportOnToken(session: ClientSession, root: RootService, token: string | number): void {
    const send = (value: unknown) => session.connection.sendNotification('$/progress', { token, value }).catch(() => undefined);
    send({ kind: 'begin', title: `Indexing ${root.root}`, cancellable: true });
    const onProgress = (_run: number, p: IndexProgress) => send(progressValue(p));
    const onEnd = () => {
      root.off('progress', onProgress);
      root.off('run-end', onEnd);
      send({ kind: 'end' });
    };
    root.on('progress', onProgress);
    root.on('run-end', onEnd);
  }

  /** Background runs (start-up, file changes) are shown to clients that accept server-created progress. */
  private wireRoot(root: RootService): void {
    attachEmbeddingIndex(root, (level, msg) => this.log(level, msg));
    root.on('run-start', (runId) => {
      for (const s of this.sessions) {
        if (!s.wantsProgress) continue;
        const token = `loupe-index-${process.pid}-${root.root}-${runId}`;
        s.progressTokens.set(root.root, token);
        s.connection
          .sendRequest('window/workDoneProgress/create', { token })
          .then(() => s.connection.sendNotification('$/progress', { token, value: { kind: 'begin', title: 'Loupe: indexing images', cancellable: true } }))
          .catch(() => s.progressTokens.delete(root.root));
      }
    });
    root.on('progress', (_runId, p) => {
      for (const s of this.sessions) {
        const token = s.progressTokens.get(root.root);
        if (token) s.connection.sendNotification('$/progress', { token, value: progressValue(p) }).catch(() => undefined);
      }
    });
    root.on('run-end', () => {
      for (const s of this.sessions) {
        const token = s.progressTokens.get(root.root);
        if (!token) continue;
        s.progressTokens.delete(root.root);
        s.connection.sendNotification('$/progress', { token, value: { kind: 'end' } }).catch(() => undefined);
      }
    });
    root.on('changed', (change) => {
      for (const s of this.sessions) {
        s.connection.sendNotification(IndexChangedNotification, { root: root.root, ...change }).catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions]) {
      s.socket.close(1001, 'server shutting down');
      this.endSession(s);
    }
    this.wss?.close();
    await new Promise<void>((r) => (this.http ? this.http.close(() => r()) : r()));
    this.http?.closeAllConnections?.();
  }
}

export type { RootedSearchHit };

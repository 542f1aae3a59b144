import { createMessageConnection, type MessageConnection } from 'vscode-jsonrpc/node';
import WebSocket from 'ws';
import type { ServerHandshake } from '../protocol';
import { WebSocketMessageReader, WebSocketMessageWriter } from '../ws-transport';

export interface ConnectOptions {
  /** Send the token as the first message instead of the Authorization header. */
  authInFirstMessage?: boolean;
  timeoutMs?: number;
}

export interface SidecarConnection {
  connection: MessageConnection;
  socket: WebSocket;
  close(): void;
}

/** Opens a WebSocket to a running sidecar and authenticates it (header, or first message). */
export async function openAuthenticatedSocket(handshake: Pick<ServerHandshake, 'port' | 'token'>, options: ConnectOptions = {}): Promise<WebSocket> {
  const url = `ws://127.0.0.1:${handshake.port}/`;
  const socket = new WebSocket(url, {
    headers: options.authInFirstMessage ? {} : { Authorization: `Bearer ${handshake.token}` },
    handshakeTimeout: options.timeoutMs ?? 10_000,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`sidecar refused the connection: HTTP ${res.statusCode}`)));
  });
  if (options.authInFirstMessage) {
    socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'auth', params: { token: handshake.token } }));
  }
  return socket;
}

/** Opens an authenticated JSON-RPC connection to a running sidecar. */
export async function connectToSidecar(handshake: Pick<ServerHandshake, 'port' | 'token'>, options: ConnectOptions = {}): Promise<SidecarConnection> {
  const socket = await openAuthenticatedSocket(handshake, options);
  const connection = createMessageConnection(new WebSocketMessageReader(socket), new WebSocketMessageWriter(socket));
  connection.listen();
  return {
    connection,
    socket,
    close: () => {
      connection.dispose();
      socket.close();
    },
  };
}

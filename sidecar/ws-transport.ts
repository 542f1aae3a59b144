/**
 * vscode-jsonrpc reader/writer over a `ws` WebSocket: one JSON-RPC message per text frame.
 * Used by the server, the extension and tests, so both ends frame messages the same way.
 */
import { AbstractMessageReader, AbstractMessageWriter, type DataCallback, type Disposable, type Message, type MessageReader, type MessageWriter } from 'vscode-jsonrpc/node';
import type WebSocket from 'ws';

export class WebSocketMessageReader extends AbstractMessageReader implements MessageReader {
  private callback: DataCallback | null = null;
  private readonly buffered: Message[] = [];

  constructor(private readonly socket: WebSocket) {
    super();
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.fireError(new Error('binary frames are not part of the Loupe protocol'));
        return;
      }
      let message: Message;
      try {
        message = JSON.parse(data.toString()) as Message;
      } catch (err) {
        this.fireError(err);
        return;
      }
      if (this.callback) this.callback(message);
      else this.buffered.push(message);
    });
    socket.on('error', (err) => this.fireError(err));
    socket.on('close', () => this.fireClose());
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    for (const m of this.buffered.splice(0)) callback(m);
    return { dispose: () => { this.callback = null; } };
  }
}

export class WebSocketMessageWriter extends AbstractMessageWriter implements MessageWriter {
  private errorCount = 0;

  constructor(private readonly socket: WebSocket) {
    super();
  }

  write(msg: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.readyState !== 1 /* OPEN */) {
        reject(new Error('socket is not open'));
        return;
      }
      this.socket.send(JSON.stringify(msg), (err) => {
        if (err) {
          this.errorCount++;
          this.fireError(err, msg, this.errorCount);
          reject(err);
        } else {
          this.errorCount = 0;
          resolve();
        }
      });
    });
  }

  end(): void {
    // the socket's owner closes it
  }
}

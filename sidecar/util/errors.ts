/** Stable error codes recorded on assets and returned over RPC; messages are for humans. */
export type FileErrorCode =
  | 'not_image'
  | 'unsupported_format'
  | 'corrupt'
  | 'too_large'
  | 'unreadable'
  | 'vanished'
  | 'outside_root'
  | 'symlink_loop'
  | 'timeout'
  | 'decode_failed'
  | 'analyzer_failed';

export class FileError extends Error {
  constructor(
    readonly code: FileErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FileError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

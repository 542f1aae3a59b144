/** Server log lines go to stderr (stdout carries only the handshake); the extension shows them in its output channel. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, message: string): void;
}

export const stderrLogger: Logger = {
  log(level, message) {
    if (level === 'debug' && !process.env.LOUPE_DEBUG) return;
    process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} ${message}\n`);
  },
};

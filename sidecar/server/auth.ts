import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A fresh 256-bit token per launch, printed once in the handshake. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenMatches(expected: string, given: string | undefined | null): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m ? m[1] : '';
}

/**
 * Why an upgrade request must be refused before any protocol talk, or null if it may proceed.
 * Browsers always send Origin; legitimate clients (extension host, CLI) are not browsers, so any
 * Origin means a web page is trying to reach the sidecar. Host must be loopback (DNS rebinding).
 */
export function refuseReason(req: IncomingMessage, port: number): string | null {
  const origin = req.headers.origin;
  if (origin !== undefined) return `request from a web page (Origin: ${origin})`;
  const host = req.headers.host ?? '';
  const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  if (!allowed.includes(host.toLowerCase())) return `unexpected Host header "${host}"`;
  return null;
}

/**
 * Connection health checks shared by GrpcServer and Channel: a PING on a connection that has been
 * quiet for a while, and the connection dropped when no answer comes. Live HTTP/2 peers answer
 * PINGs (the protocol requires it); what goes unanswered is a peer that died without a TCP close,
 * or a connection node:http2 stopped reading (it does after some protocol errors of the peer, and
 * then never notices the peer's close).
 */
import type { Http2Session } from "node:http2";

/** The keepalive option of ServerOptions and ChannelOptions. */
export type KeepaliveOption = { idleMs?: number; timeoutMs?: number } | false;

/** Checked keepalive settings; `idleMs` 0 means off. */
export interface Keepalive {
  readonly idleMs: number;
  readonly timeoutMs: number;
}

/** Largest delay setTimeout takes (24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks `option` (of `owner`, for messages) and fills in the defaults. */
export function keepaliveSettings(owner: string, option: KeepaliveOption | undefined, defaultIdleMs: number): Keepalive {
  if (option === false) return { idleMs: 0, timeoutMs: 0 };
  if (option !== undefined && (option === null || typeof option !== "object")) throw new TypeError(`${owner}: keepalive must be { idleMs?, timeoutMs? } or false`);
  const k = { idleMs: option?.idleMs ?? defaultIdleMs, timeoutMs: option?.timeoutMs ?? 20_000 };
  for (const [name, v] of [["keepalive.idleMs", k.idleMs], ["keepalive.timeoutMs", k.timeoutMs]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_TIMER_MS) throw new RangeError(`${owner}: ${name} must be an integer from 1 to ${MAX_TIMER_MS} (ms), got ${String(v)}`);
  }
  return k;
}

/**
 * Watches `session` (when keepalive is on): each time it has carried nothing for `idleMs` and
 * `suspect()` is true, sends a PING; when no answer comes within `timeoutMs`, calls `dead(why)`
 * and destroys the session. Watches every quiet period, not only the first (node:http2 emits
 * 'timeout' once per setTimeout).
 */
export function watchSession(session: Http2Session, k: Keepalive, suspect: () => boolean, dead: (why: string) => void): void {
  if (k.idleMs === 0) return;
  const arm = (): void => {
    if (!session.destroyed) session.setTimeout(k.idleMs, probe);
  };
  const fail = (why: string): void => {
    if (session.destroyed) return;
    try {
      dead(why);
    } finally {
      try {
        session.destroy();
      } catch {
        // already going
      }
    }
  };
  const probe = (): void => {
    if (session.destroyed) return;
    if (!suspect()) return arm();
    const timer = setTimeout(() => fail(`no answer to a keepalive PING within ${k.timeoutMs} ms`), k.timeoutMs);
    timer.unref();
    try {
      const sent = session.ping((err) => {
        clearTimeout(timer);
        if (err !== null) fail(`keepalive PING failed: ${err.message}`);
        else arm();
      });
      if (!sent) {
        // too many PINGs outstanding: the peer is not answering
        clearTimeout(timer);
        fail("keepalive PINGs unanswered");
      }
    } catch (err) {
      clearTimeout(timer);
      fail(`keepalive PING failed: ${(err as Error).message}`);
    }
  };
  arm();
}

/**
 * Replay protection for authenticated packets. A MAC proves who made a packet, not when: a recorded
 * LEAVE or ack sent again could take a healthy node out of the election or keep a dead one in.
 * Packets carry the sender's wall-clock time and a nonce; those outside the window are refused, and
 * a nonce seen inside the window is refused again. Nodes' clocks must therefore agree to within the
 * window, which NTP on cluster nodes gives with a wide margin.
 */
export type ReplayVerdict = 'fresh' | 'stale' | 'duplicate';

export class ReplayGuard {
  /** `sender nonce` -> the time after which the packet would be refused as stale anyway. */
  private readonly seen = new Map<string, number>();
  private nextSweepAt = 0;

  /**
   * @param windowMs how far a timestamp may lie from our clock, either way
   * @param capacity bound on remembered nonces; far above what a cluster sends within one window
   */
  constructor(
    private readonly windowMs: number,
    private readonly capacity = 100_000,
  ) {}

  /** Judges one packet and, if fresh, remembers it. */
  check(sender: string, nonce: number, timestampMs: number, nowMs: number): ReplayVerdict {
    if (Math.abs(nowMs - timestampMs) > this.windowMs) return 'stale';
    const key = `${sender} ${nonce}`;
    if (this.seen.has(key)) return 'duplicate';
    this.sweep(nowMs);
    // Beyond capacity the oldest entry goes: at worst that packet could be replayed once more,
    // which is better than memory growing without bound.
    if (this.seen.size >= this.capacity) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    this.seen.set(key, timestampMs + this.windowMs);
    return 'fresh';
  }

  private sweep(nowMs: number): void {
    if (nowMs < this.nextSweepAt) return;
    this.nextSweepAt = nowMs + this.windowMs / 2;
    for (const [key, expiresAt] of this.seen) if (expiresAt < nowMs) this.seen.delete(key);
  }
}

/**
 * The piggyback buffer of SWIM's infection-style dissemination: state changes ride on the
 * protocol's own packets instead of costing packets of their own. Each update is sent a limited
 * number of times (about λ·log n, enough for an epidemic to reach every member with high
 * probability), fewest-sent first so fresh news goes out before old news. Only the newest update
 * per member is kept: an older one could only be overridden at every receiver, so the buffer is
 * bounded by the member count.
 */
import { updateLength, type Update } from './wire.ts';

export class Dissemination {
  private readonly pending = new Map<string, { update: Update; sends: number }>();

  add(update: Update): void {
    this.pending.delete(update.member);
    this.pending.set(update.member, { update, sends: 0 });
  }

  forget(member: string): void {
    this.pending.delete(member);
  }

  /**
   * Updates for one packet, within `budgetBytes` and `maxCount`, leaving out members in `skip`
   * (already in the packet). Each one taken counts as sent; it is dropped after `limit` sends.
   */
  take(budgetBytes: number, maxCount: number, limit: number, skip: ReadonlySet<string>): Update[] {
    const taken: Update[] = [];
    let left = budgetBytes;
    // Sorting is stable: among equally sent updates, the older change goes first.
    const byFewestSends = [...this.pending.values()].sort((a, b) => a.sends - b.sends);
    for (const entry of byFewestSends) {
      if (taken.length >= maxCount) break;
      const length = updateLength(entry.update);
      if (skip.has(entry.update.member) || length > left) continue;
      taken.push(entry.update);
      left -= length;
      entry.sends += 1;
      if (entry.sends >= limit) this.pending.delete(entry.update.member);
    }
    return taken;
  }
}

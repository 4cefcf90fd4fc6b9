/**
 * Finds the lowest free address of one range without enumerating it. Everything below `next`
 * has been handed out or skipped once; addresses released below it wait in a min-heap. So each
 * lookup costs O(log freed) amortized, whatever the range size: a /64 costs what a /30 costs.
 */
import type { IpRange } from '../shared/ip/range.ts';
import { BigIntMinHeap } from './min-heap.ts';

export class FreeCursor {
  private next: bigint;
  private readonly released = new BigIntMinHeap();

  constructor(
    readonly range: IpRange,
    /** True for addresses that must never be handed out (in use, or skipped as buggy). */
    private readonly unavailable: (value: bigint) => boolean,
  ) {
    this.next = range.first;
  }

  /** The lowest available address, or undefined when the range is full. Does not claim it. */
  lowestFree(): bigint | undefined {
    for (let top = this.released.peek(); top !== undefined; top = this.released.peek()) {
      if (!this.unavailable(top)) return top;
      // Taken again since its release (by an explicit request): drop the stale entry.
      this.released.pop();
    }
    while (this.next <= this.range.last) {
      if (!this.unavailable(this.next)) return this.next;
      this.next++;
    }
    return undefined;
  }

  /** Called when an address of this range is freed, so it is found again. */
  release(value: bigint): void {
    if (value < this.next) this.released.push(value);
  }
}

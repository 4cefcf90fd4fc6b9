/**
 * Which members to probe next: SWIM's round robin over a shuffled list. Unlike picking at random,
 * it bounds the time between two probes of the same member by one pass over the list, and the
 * shuffle (fresh each pass) keeps nodes from probing in lockstep.
 */
export class ProbeOrder {
  private order: string[] = [];
  private cursor = 0;

  constructor(private readonly random: () => number) {}

  /** The next `count` distinct candidates (all of them when there are no more than `count`). */
  next(candidates: ReadonlySet<string>, count: number): string[] {
    const picked = new Set<string>();
    const wanted = Math.min(count, candidates.size);
    while (picked.size < wanted) {
      const name = this.order[this.cursor++];
      if (name === undefined) {
        // One pass done: members that joined since take part from the next pass on.
        this.order = shuffle([...candidates], this.random);
        this.cursor = 0;
      } else if (candidates.has(name)) {
        picked.add(name);
      }
    }
    return [...picked];
  }
}

/** Fisher-Yates, in place. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * Turns ConfigMap contents into allocator pools, keeping the last good config whenever the new
 * one is invalid or would take an address away from a Service. Pure: the controller turns the
 * result into Events and metrics.
 */
import { ConfigErrors } from '../shared/errors.ts';
import { parseConfig } from '../shared/config/parse.ts';
import type { Config } from '../shared/config/types.ts';
import type { Allocator } from './allocator.ts';

export type LoadResult =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'applied'; readonly config: Config }
  | { readonly kind: 'refused'; readonly errors: readonly string[] };

export class ConfigLoader {
  private text: string | undefined;
  private good: Config | undefined;
  /** True while the newest config text seen was refused and an older one is in force. */
  stale = false;

  constructor(private readonly allocator: Allocator) {}

  get current(): Config | undefined {
    return this.good;
  }

  load(text: string): LoadResult {
    if (text === this.text) return { kind: 'unchanged' };
    this.text = text;
    let config: Config;
    try {
      config = parseConfig(text);
      this.allocator.setPools(config.pools);
    } catch (error) {
      if (!(error instanceof ConfigErrors)) throw error;
      this.stale = true;
      return { kind: 'refused', errors: error.errors.map((e) => e.message) };
    }
    this.good = config;
    this.stale = false;
    return { kind: 'applied', config };
  }
}

/**
 * Keeps the last good config: a new ConfigMap text applies only if it parses and the owner's
 * `accept` hook takes it (the controller refuses a config that would take an address in use).
 * Otherwise the old config stays in force and the result says why, for Events and the stale
 * metric. Pure: no I/O.
 */
import { ConfigErrors } from '../errors.ts';
import { parseConfig } from './parse.ts';
import type { Config } from './types.ts';

export type LoadResult =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'applied'; readonly config: Config }
  | { readonly kind: 'refused'; readonly errors: readonly string[] };

export class LastGoodConfig {
  private text: string | undefined;
  private good: Config | undefined;
  /** True while the newest config text seen was refused and an older one is in force. */
  stale = false;

  /** `accept` may throw ConfigErrors to refuse a config that parsed. */
  constructor(private readonly accept: (config: Config) => void = () => undefined) {}

  get current(): Config | undefined {
    return this.good;
  }

  load(text: string): LoadResult {
    if (text === this.text) return { kind: 'unchanged' };
    this.text = text;
    let config: Config;
    try {
      config = parseConfig(text);
      this.accept(config);
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

/**
 * What a reconcile says about its key; the work queue owns what happens next.
 * ok: done. retry: transient failure (API error), try again with backoff. noRetry: cannot be
 * satisfied now (pool exhausted, bad annotation); wait for a change. reprocessAll: this reconcile
 * freed something others were waiting for; retry everything that is not settled.
 */
export type Outcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'retry'; readonly reason: string }
  | { readonly kind: 'noRetry'; readonly reason: string }
  | { readonly kind: 'reprocessAll' };

export const OK: Outcome = { kind: 'ok' };
export const REPROCESS_ALL: Outcome = { kind: 'reprocessAll' };

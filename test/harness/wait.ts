/**
 * Polling for acceptance tests: the system under test converges asynchronously (informers, timers,
 * routers), so assertions wait for a condition instead of sleeping a guessed amount.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** What is awaited, in words: the whole timeout message hangs on it. */
  readonly description: string;
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

/**
 * Calls `predicate` until it returns a truthy value, and returns that value. A predicate that throws
 * counts as "not yet" (the API may be briefly unreachable); its last error is kept for the timeout message.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  { description, timeoutMs = 10_000, intervalMs = 100 }: WaitOptions,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? '' : `; last error: ${errorText(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${cause}`, {
        cause: lastError,
      });
    }
    await sleep(intervalMs);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

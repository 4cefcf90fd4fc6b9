/**
 * Go duration strings ("90s", "1m30s", "1.5h", "500ms"), the syntax of Go's time.ParseDuration,
 * which is what MetalLB accepts for `hold-time` and `keepalive-time`. Arithmetic is done in whole
 * nanoseconds, as in Go, so "0.1s" is exactly 100 ms and fractions below a nanosecond are dropped.
 */
import { MetallbError } from '../errors.ts';

const NANOS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

// Go durations are int64 nanoseconds; anything longer (about 292 years) is an error there.
const MAX_NANOS = (1n << 63n) - 1n;

// One "<number><unit>" term. Like Go, the unit is every character up to the next digit or dot,
// so "5mss" is an unknown unit rather than "5ms" followed by garbage.
const TERM = /(\d*)(?:\.(\d*))?([^\d.]*)/y;

function invalid(reason: string): MetallbError {
  return new MetallbError('CONFIG_INVALID', `invalid duration: ${reason}`);
}

/** Parses a Go duration into milliseconds (possibly fractional, possibly negative). */
export function parseDurationMs(text: string): number {
  let rest = text;
  let sign = 1n;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1n : 1n;
    rest = rest.slice(1);
  }
  // A bare "0" is the one number Go accepts without a unit.
  if (rest === '0') return 0;
  if (rest === '') throw invalid('empty');

  let nanos = 0n;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < rest.length) {
    const match = TERM.exec(rest);
    const [, whole = '', fraction = '', unit = ''] = match ?? [];
    if (whole === '' && fraction === '') throw invalid('expected a number');
    if (unit === '') throw invalid('missing unit (ns, us, ms, s, m or h)');
    const perUnit = NANOS_PER_UNIT[unit];
    if (perUnit === undefined) throw invalid(`unknown unit "${unit}" (ns, us, ms, s, m or h)`);
    nanos += BigInt(whole || '0') * perUnit;
    if (fraction !== '') nanos += (BigInt(fraction) * perUnit) / 10n ** BigInt(fraction.length);
    if (nanos > MAX_NANOS) throw invalid('too long');
  }
  return Number(sign * nanos) / 1e6;
}

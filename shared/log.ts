/**
 * One JSON object per line on stderr, as cluster log collectors expect. A logger carries fixed
 * fields (component, node) so call sites only add what is specific to the event.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  with(fields: Record<string, unknown>): Logger;
}

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(
  base: Record<string, unknown> = {},
  minimum: Level = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const emit = (level: Level, message: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < ORDER[minimum]) return;
    write(
      JSON.stringify({ ts: new Date().toISOString(), level, msg: message, ...base, ...fields }, bigintSafe),
    );
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    with: (fields) => createLogger({ ...base, ...fields }, minimum, write),
  };
}

function bigintSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { message: value.message, ...(value as object) };
  return value;
}

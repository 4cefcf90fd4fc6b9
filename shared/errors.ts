/**
 * Typed errors with stable codes. Callers branch on `code`, never on message text, so messages
 * may be improved without breaking anyone; `path` names the offending field of the input.
 */
export type ErrorCode =
  // Configuration (ConfigMap `config`)
  | 'CONFIG_YAML'
  | 'CONFIG_UNKNOWN_KEY'
  | 'CONFIG_TYPE'
  | 'CONFIG_REQUIRED'
  | 'CONFIG_INVALID'
  | 'CONFIG_DUPLICATE'
  | 'CONFIG_OVERLAP'
  | 'CONFIG_REFERENCE'
  | 'CONFIG_IN_USE'
  // IP parsing
  | 'IP_INVALID'
  | 'IP_RANGE_INVALID'
  // Allocation
  | 'ALLOC_POOL_EXHAUSTED'
  | 'ALLOC_UNKNOWN_POOL'
  | 'ALLOC_IP_NOT_IN_POOL'
  | 'ALLOC_IP_IN_USE'
  | 'ALLOC_SHARING_REFUSED'
  | 'ALLOC_FAMILY_UNAVAILABLE'
  | 'ALLOC_BAD_REQUEST'
  | 'ALLOC_BUGGY_IP'
  // Service annotations and spec
  | 'SERVICE_INVALID';

export class MetallbError extends Error {
  readonly code: ErrorCode;
  /** Dotted location of the bad input, e.g. `address-pools[1].addresses[0]`; empty when not applicable. */
  readonly path: string;

  constructor(code: ErrorCode, message: string, path = '') {
    super(path ? `${path}: ${message}` : message);
    this.name = 'MetallbError';
    this.code = code;
    this.path = path;
  }
}

/** Raised by the config parser with every problem found, so a user fixes them all in one pass. */
export class ConfigErrors extends Error {
  readonly code = 'CONFIG_INVALID_DOCUMENT' as const;
  readonly errors: readonly MetallbError[];

  constructor(errors: readonly MetallbError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'ConfigErrors';
    this.errors = errors;
  }
}

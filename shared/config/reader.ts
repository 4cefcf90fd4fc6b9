/**
 * Typed access to the YAML tree, with the path of every value at hand. Readers report a problem and
 * return undefined instead of throwing, so one pass over the document finds every mistake in it.
 */
import { MetallbError, type ErrorCode } from '../errors.ts';
import type { Value } from './yaml-tree.ts';

/** The problems found so far, in the order they were found. */
export class Problems {
  readonly errors: MetallbError[] = [];

  add(code: ErrorCode, path: string, message: string): void {
    this.errors.push(new MetallbError(code, message, path));
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describe(value: Value): string {
  if (value.kind === 'map') return 'a mapping';
  if (value.kind === 'list') return 'a list';
  if (value.value === null) return 'nothing';
  if (typeof value.value === 'string') return `the string "${value.text}"`;
  return `${typeof value.value === 'boolean' ? 'the boolean' : 'the value'} ${value.text}`;
}

// Unknown keys are usually a different spelling of a known one: CRD-style camelCase
// (`peerAddress`), underscores, a missing dash, or singular for plural. Comparing letters and
// digits only, give or take a plural ending, catches those.
function resembles(known: string, key: string): boolean {
  const [a, b] = [known, key].map((text) => text.toLowerCase().replace(/[^a-z0-9]/g, ''));
  return a === b || a === `${b}s` || a === `${b}es` || b === `${a}s` || b === `${a}es`;
}

/** One value of the document and where it is. */
export class Field {
  constructor(
    readonly value: Value,
    readonly path: string,
    readonly problems: Problems,
  ) {}

  private wrongType(expected: string): undefined {
    this.problems.add('CONFIG_TYPE', this.path, `expected ${expected}, got ${describe(this.value)}`);
    return undefined;
  }

  /** Any scalar, as written: go-yaml fills a string field from `name: 2024` too. */
  string(): string | undefined {
    if (this.value.kind !== 'scalar' || this.value.value === null) return this.wrongType('a string');
    return this.value.text;
  }

  boolean(): boolean | undefined {
    if (this.value.kind !== 'scalar' || typeof this.value.value !== 'boolean') {
      return this.wrongType('true or false');
    }
    return this.value.value;
  }

  /** An integer in [min, max]; out of range is CONFIG_INVALID, not a number at all CONFIG_TYPE. */
  integer(min: number, max: number): number | undefined {
    const n = this.value.kind === 'scalar' ? this.value.value : undefined;
    if (typeof n !== 'number' || !Number.isInteger(n)) return this.wrongType('an integer');
    if (n < min || n > max) {
      this.problems.add('CONFIG_INVALID', this.path, `must be between ${min} and ${max}, got ${n}`);
      return undefined;
    }
    return n;
  }

  list(): Field[] {
    if (this.value.kind !== 'list') return this.wrongType('a list') ?? [];
    return this.value.items.map((item, i) => new Field(item, `${this.path}[${i}]`, this.problems));
  }

  /** A mapping whose keys must all be among `keys`; each other key is reported. */
  object(keys: readonly string[]): ObjectReader | undefined {
    if (this.value.kind !== 'map') return this.wrongType('a mapping');
    for (const key of this.value.entries.keys()) {
      if (keys.includes(key)) continue;
      const meant = keys.find((known) => resembles(known, key));
      const hint = meant === undefined ? `allowed: ${keys.join(', ')}` : `did you mean "${meant}"?`;
      this.problems.add('CONFIG_UNKNOWN_KEY', join(this.path, key), `unknown key "${key}" (${hint})`);
    }
    return new ObjectReader(this.value.entries, this.path, this.problems);
  }

  /** A mapping of free-form keys (aliases, labels), each value a string field. */
  entries(): [string, Field][] {
    if (this.value.kind !== 'map') return this.wrongType('a mapping') ?? [];
    return [...this.value.entries].map(([key, value]) => [
      key,
      new Field(value, join(this.path, key), this.problems),
    ]);
  }

  /**
   * Runs a parser on this field's text; a MetallbError it throws is recorded against this field as
   * `"<text>": <reason>`, keeping the parser's code.
   */
  parse<T>(parser: (text: string) => T): T | undefined {
    const text = this.string();
    if (text === undefined) return undefined;
    try {
      return parser(text);
    } catch (error) {
      if (!(error instanceof MetallbError)) throw error;
      this.problems.add(error.code, this.path, `"${text}": ${error.message}`);
      return undefined;
    }
  }

  /** Records a problem with this field's value. */
  report(code: ErrorCode, message: string): undefined {
    this.problems.add(code, this.path, message);
    return undefined;
  }
}

/** The keys of one mapping. A key set to null (`name:`) reads as absent, as in go-yaml. */
export class ObjectReader {
  constructor(
    private readonly values: ReadonlyMap<string, Value>,
    readonly path: string,
    readonly problems: Problems,
  ) {}

  field(key: string): Field | undefined {
    const value = this.values.get(key);
    if (value === undefined || (value.kind === 'scalar' && value.value === null)) return undefined;
    return new Field(value, join(this.path, key), this.problems);
  }

  /** The field, or a CONFIG_REQUIRED problem at its path when it is absent. */
  required(key: string): Field | undefined {
    const field = this.field(key);
    if (field === undefined) this.problems.add('CONFIG_REQUIRED', join(this.path, key), `missing ${key}`);
    return field;
  }

  /** The required, non-empty `name` of a pool or profile. */
  name(): string | undefined {
    const field = this.required('name');
    const name = field?.string();
    return name === '' ? field?.report('CONFIG_REQUIRED', 'missing name') : name;
  }

  boolean(key: string, fallback: boolean): boolean {
    return this.field(key)?.boolean() ?? fallback;
  }

  integer(key: string, min: number, max: number, fallback: number): number {
    return this.field(key)?.integer(min, max) ?? fallback;
  }

  /** An absent list reads as empty. */
  list(key: string): Field[] {
    return this.field(key)?.list() ?? [];
  }
}

/**
 * Parses a list of named entries (pools, BFD profiles). A name used twice is reported at the later
 * entry's `name`, and that entry is left out.
 */
export function parseNamed<T extends { readonly name: string }>(
  fields: readonly Field[],
  parse: (field: Field) => T | undefined,
  what: string,
): T[] {
  const entries: T[] = [];
  const firstByName = new Map<string, Field>();
  for (const field of fields) {
    const entry = parse(field);
    if (entry === undefined) continue;
    const first = firstByName.get(entry.name);
    if (first !== undefined) {
      field.problems.add(
        'CONFIG_DUPLICATE',
        join(field.path, 'name'),
        `duplicate ${what} name "${entry.name}", already used by ${first.path}`,
      );
      continue;
    }
    firstByName.set(entry.name, field);
    entries.push(entry);
  }
  return entries;
}

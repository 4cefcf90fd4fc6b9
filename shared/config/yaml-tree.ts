/**
 * YAML text to a plain tree of mappings, lists and scalars: the only place that knows the `yaml`
 * package's AST. Every scalar keeps its source text, so a string field reads `010` as "010" and
 * `100:10` as "100:10" whatever type the YAML schema would give it.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigErrors, MetallbError } from '../errors.ts';

export type Value = MapValue | ListValue | ScalarValue;

export interface MapValue {
  readonly kind: 'map';
  readonly entries: ReadonlyMap<string, Value>;
}

export interface ListValue {
  readonly kind: 'list';
  readonly items: readonly Value[];
}

export interface ScalarValue {
  readonly kind: 'scalar';
  /** As the YAML 1.1 schema types it: string, number, boolean, null, ... */
  readonly value: unknown;
  /** The scalar as written, after unquoting. */
  readonly text: string;
}

const NULL: ScalarValue = { kind: 'scalar', value: null, text: '' };

/**
 * Parses one YAML document; undefined when it holds nothing (empty, comments, a bare `---`).
 * Syntax errors throw ConfigErrors, each CONFIG_YAML and naming its line and column.
 */
export function loadYaml(text: string): Value | undefined {
  const lines = new LineCounter();
  // YAML 1.1, because MetalLB reads its ConfigMap with go-yaml v2: `auto-assign: no` is false
  // there, so it must not become the string "no" (and a type error) here.
  const doc = parseDocument(text, { version: '1.1', lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigErrors(
      doc.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        return new MetallbError('CONFIG_YAML', `line ${line}, column ${col}: ${error.message}`);
      }),
    );
  }
  const root = toTree(doc);
  return root.kind === 'scalar' && root.value === null ? undefined : root;
}

// Aliases let a few lines describe an exponentially large tree (the "billion laughs" document).
// The controller parses whatever the ConfigMap holds, so values copied through aliases are capped,
// far above what any real config repeats; values written out are bounded by the text itself.
const MAX_ALIASED_VALUES = 100_000;

function toTree(doc: Document): Value {
  let budget = MAX_ALIASED_VALUES;
  const toValue = (node: unknown, aliased: boolean): Value => {
    if (aliased && --budget < 0) {
      throw new ConfigErrors([
        new MetallbError('CONFIG_YAML', `aliases expand to more than ${MAX_ALIASED_VALUES} values`),
      ]);
    }
    if (isAlias(node)) return toValue(node.resolve(doc), true);
    if (isSeq(node)) return { kind: 'list', items: node.items.map((item) => toValue(item, aliased)) };
    if (isScalar(node)) return { kind: 'scalar', value: node.value, text: node.source ?? String(node.value) };
    if (!isMap(node)) return NULL;

    const merged = new Map<string, Value>();
    const own = new Map<string, Value>();
    for (const pair of node.items) {
      const value = toValue(pair.value, aliased);
      if (isScalar(pair.key) && typeof pair.key.value === 'symbol') {
        // A `<<: *anchor` merge key. Keys written in the mapping itself win, wherever they stand.
        const sources = value.kind === 'list' ? value.items : [value];
        for (const source of sources) {
          if (source.kind === 'map') for (const [key, inner] of source.entries) merged.set(key, inner);
        }
      } else {
        own.set(isScalar(pair.key) ? (pair.key.source ?? String(pair.key.value)) : String(pair.key), value);
      }
    }
    return { kind: 'map', entries: new Map([...merged, ...own]) };
  };
  return toValue(doc.contents, false);
}

/**
 * A peer's `node-selectors[]`: Kubernetes label selectors in MetalLB's spelling (`match-labels`,
 * `match-expressions`). Checked as Kubernetes checks a LabelSelector, so a selector that could
 * never be evaluated is refused here rather than silently matching nothing.
 */
import type { Field } from './reader.ts';
import type { NodeSelector, SelectorOperator } from './types.ts';

const SELECTOR_KEYS = ['match-labels', 'match-expressions'];
const EXPRESSION_KEYS = ['key', 'operator', 'values'];
const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'] satisfies SelectorOperator[];

// A label name, and a label value when non-empty: at most 63 characters, alphanumeric at both ends.
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
// The optional prefix of a label key: a DNS subdomain.
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const LABEL_KEY_RULE =
  'is not a valid label key ([prefix/]name; name at most 63 characters, alphanumeric at both ends)';
const LABEL_VALUE_RULE = 'is not a valid label value (at most 63 characters, alphanumeric at both ends)';

/** `[prefix/]name`, as Kubernetes requires of label keys. */
function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = key.slice(0, Math.max(slash, 0));
  return NAME.test(key.slice(slash + 1)) && (slash < 0 || (prefix.length <= 253 && PREFIX.test(prefix)));
}

/** A label value: empty, or a label name. */
function isLabelValue(value: string): boolean {
  return value === '' || NAME.test(value);
}

/** Reads a string field that must pass `valid`, reporting `"<text>" <rule>` otherwise. */
function checked(
  field: Field | undefined,
  valid: (text: string) => boolean,
  rule: string,
): string | undefined {
  const text = field?.string();
  if (field === undefined || text === undefined) return undefined;
  return valid(text) ? text : field.report('CONFIG_INVALID', `"${text}" ${rule}`);
}

function isOperator(text: string): text is SelectorOperator {
  return OPERATORS.includes(text);
}

function parseExpression(field: Field): NodeSelector['matchExpressions'][number] | undefined {
  const reader = field.object(EXPRESSION_KEYS);
  if (reader === undefined) return undefined;
  const key = checked(reader.required('key'), isLabelKey, LABEL_KEY_RULE);
  const operatorField = reader.required('operator');
  const operator = operatorField?.string();
  const values = reader.list('values').map((value) => checked(value, isLabelValue, LABEL_VALUE_RULE));
  if (operatorField === undefined || operator === undefined) return undefined;
  if (!isOperator(operator)) {
    return operatorField.report(
      'CONFIG_INVALID',
      `unknown operator "${operator}" (expected ${OPERATORS.join(', ')})`,
    );
  }
  // As in Kubernetes: set operators need values to compare with, existence operators take none.
  const wantsValues = operator === 'In' || operator === 'NotIn';
  if (wantsValues && values.length === 0) {
    return field.report('CONFIG_REQUIRED', `operator ${operator} needs at least one value`);
  }
  if (!wantsValues && values.length > 0) {
    return reader.field('values')?.report('CONFIG_INVALID', `operator ${operator} takes no values`);
  }
  const valid = values.filter((value) => value !== undefined);
  if (key === undefined || valid.length !== values.length) return undefined;
  return { key, operator, values: valid };
}

export function parseNodeSelector(field: Field): NodeSelector | undefined {
  const reader = field.object(SELECTOR_KEYS);
  if (reader === undefined) return undefined;
  const matchLabels: Record<string, string> = {};
  let labelsValid = true;
  for (const [key, valueField] of reader.field('match-labels')?.entries() ?? []) {
    const value = checked(valueField, isLabelValue, LABEL_VALUE_RULE);
    if (!isLabelKey(key)) valueField.report('CONFIG_INVALID', `"${key}" ${LABEL_KEY_RULE}`);
    if (value === undefined || !isLabelKey(key)) labelsValid = false;
    else matchLabels[key] = value;
  }
  const expressions = reader.list('match-expressions').map(parseExpression);
  const matchExpressions = expressions.filter((expression) => expression !== undefined);
  if (!labelsValid || matchExpressions.length !== expressions.length) return undefined;
  return { matchLabels, matchExpressions };
}

/**
 * Canonical text of a list of selectors: two lists with the same key select the same nodes,
 * whatever the order of selectors, labels, expressions or values.
 */
export function selectorsKey(selectors: readonly NodeSelector[]): string {
  return JSON.stringify(
    selectors
      .map((selector) =>
        JSON.stringify([
          Object.entries(selector.matchLabels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
          selector.matchExpressions
            .map((expression) =>
              JSON.stringify([expression.key, expression.operator, [...expression.values].sort()]),
            )
            .sort(),
        ]),
      )
      .sort()
      .filter((key, i, keys) => key !== keys[i - 1]),
  );
}

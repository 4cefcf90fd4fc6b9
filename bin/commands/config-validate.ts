/** `metallb-ts config validate FILE`: checks a ConfigMap manifest or bare config without a cluster. */
import { readFile } from 'node:fs/promises';
import { parseConfigSource } from '../../shared/config/parse.ts';
import { summarizeConfig } from '../../shared/config/summary.ts';
import { ConfigErrors } from '../../shared/errors.ts';

const USAGE = `usage: metallb-ts config validate FILE
  FILE holds a ConfigMap manifest (kind: ConfigMap, data.config) or the bare config YAML.
  Exit status: 0 valid, 1 invalid or unreadable, 2 bad usage.`;

export async function configValidate(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const [file, ...extra] = args;
  if (file === '--help' || file === '-h') {
    out(USAGE);
    return 0;
  }
  if (file === undefined || extra.length > 0) {
    err(USAGE);
    return 2;
  }

  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    err(`${file}: cannot read: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }

  try {
    const summary = summarizeConfig(parseConfigSource(text));
    out(`${file}: valid`);
    summary.forEach((line) => out(line));
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigErrors)) throw error;
    for (const problem of error.errors) err(`${file}: ${problem.message}`);
    err(`${file}: invalid, ${error.errors.length} problem${error.errors.length === 1 ? '' : 's'}`);
    return 1;
  }
}

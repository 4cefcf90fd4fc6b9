#!/usr/bin/env -S node --import tsx
/** The metallb-ts command line: one binary, a subcommand per component or tool. */
import { runController, CONTROLLER_USAGE } from '../controller/main.ts';
import { runSpeaker, SPEAKER_USAGE } from '../speaker/main.ts';
import { configValidate } from './commands/config-validate.ts';

const USAGE = `usage: metallb-ts <command>
  controller [flags]        run the controller (assigns EXTERNAL-IPs)
  speaker [flags]           run the speaker (announces addresses; one per node)
  config validate FILE      check a ConfigMap manifest or bare config YAML

${CONTROLLER_USAGE}

${SPEAKER_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'controller') return runController(rest);
  if (command === 'speaker') return runSpeaker(rest);
  if (command === 'config' && rest[0] === 'validate') {
    return configValidate(
      rest.slice(1),
      (line) => process.stdout.write(line + '\n'),
      (line) => process.stderr.write(line + '\n'),
    );
  }
  process.stderr.write(USAGE + '\n');
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
}

process.exitCode = await main(process.argv.slice(2));

/**
 * `bfd-profiles[]`: named BFD session settings that peers refer to by `bfd-profile`. Limits and
 * defaults are MetalLB's (which are FRR's).
 */
import { parseNamed, type Field } from './reader.ts';
import type { BfdProfile } from './types.ts';

const BFD_KEYS = [
  'name',
  'receive-interval',
  'transmit-interval',
  'echo-interval',
  'detect-multiplier',
  'minimum-ttl',
  'echo-mode',
  'passive-mode',
];

function parseProfile(field: Field): BfdProfile | undefined {
  const reader = field.object(BFD_KEYS);
  if (reader === undefined) return undefined;
  const name = reader.name();
  const profile = {
    receiveIntervalMs: reader.integer('receive-interval', 10, 60000, 300),
    transmitIntervalMs: reader.integer('transmit-interval', 10, 60000, 300),
    echoIntervalMs: reader.integer('echo-interval', 10, 60000, 50),
    detectMultiplier: reader.integer('detect-multiplier', 2, 255, 3),
    minimumTtl: reader.integer('minimum-ttl', 1, 254, 254),
    echoMode: reader.boolean('echo-mode', false),
    passiveMode: reader.boolean('passive-mode', false),
  };
  return name === undefined ? undefined : { name, ...profile };
}

/** Parses `bfd-profiles[]`; profile names must be unique. */
export function parseBfdProfiles(fields: readonly Field[]): BfdProfile[] {
  return parseNamed(fields, parseProfile, 'bfd profile');
}

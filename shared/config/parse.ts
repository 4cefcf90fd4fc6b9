/**
 * The MetalLB v0.12 ConfigMap `config` key, from text to a validated Config. Every problem in the
 * document is collected and thrown together as ConfigErrors, so one run shows them all.
 */
import { ConfigErrors, MetallbError, type ErrorCode } from '../errors.ts';
import { parseBfdProfiles } from './bfd.ts';
import { parseCommunityAliases } from './communities.ts';
import { parsePeers } from './peers.ts';
import { parsePools } from './pools.ts';
import { Field, Problems } from './reader.ts';
import type { Config } from './types.ts';
import { loadYaml, type Value } from './yaml-tree.ts';

const CONFIG_KEYS = ['peers', 'bgp-communities', 'address-pools', 'bfd-profiles'];

function fromTree(root: Value | undefined): Config {
  const problems = new Problems();
  const reader = root === undefined ? undefined : new Field(root, '', problems).object(CONFIG_KEYS);
  // Aliases and profiles first: pools and peers refer to them.
  const aliases = parseCommunityAliases(reader?.field('bgp-communities'));
  const bfdProfiles = parseBfdProfiles(reader?.list('bfd-profiles') ?? []);
  const pools = parsePools(reader?.list('address-pools') ?? [], aliases);
  const peers = parsePeers(reader?.list('peers') ?? [], new Set(bfdProfiles.map((profile) => profile.name)));
  if (problems.errors.length > 0) throw new ConfigErrors(problems.errors);

  const communityAliases = Object.fromEntries(
    [...aliases].flatMap(([alias, community]) => (community === undefined ? [] : [[alias, community]])),
  );
  return { pools, peers, bfdProfiles, communityAliases };
}

/** Parses the YAML held by the ConfigMap's `config` key. An empty document is an empty config. */
export function parseConfig(text: string): Config {
  return fromTree(loadYaml(text));
}

function fail(code: ErrorCode, path: string, message: string): never {
  throw new ConfigErrors([new MetallbError(code, message, path)]);
}

/**
 * Parses what a user keeps in a file: either a whole ConfigMap manifest (as `kubectl get cm config
 * -o yaml` prints it; the config is its `data.config`) or the bare config YAML. A document with a
 * `kind` or `apiVersion` key is taken as a manifest, since neither is a config key.
 */
export function parseConfigSource(text: string): Config {
  const root = loadYaml(text);
  if (root?.kind !== 'map' || !(root.entries.has('kind') || root.entries.has('apiVersion')))
    return fromTree(root);

  const kind = root.entries.get('kind');
  if (kind?.kind !== 'scalar' || kind.text !== 'ConfigMap') {
    const found = kind?.kind === 'scalar' ? `"${kind.text}"` : 'no kind';
    fail('CONFIG_INVALID', 'kind', `expected a ConfigMap manifest or a bare MetalLB config, found ${found}`);
  }
  const data = root.entries.get('data');
  const config = data?.kind === 'map' ? data.entries.get('config') : undefined;
  if (config === undefined) fail('CONFIG_REQUIRED', 'data.config', 'the ConfigMap has no config key');
  if (config.kind !== 'scalar' || typeof config.value !== 'string') {
    fail('CONFIG_TYPE', 'data.config', 'expected the config YAML as a string (write `config: |`)');
  }
  try {
    return parseConfig(config.text);
  } catch (error) {
    if (!(error instanceof ConfigErrors)) throw error;
    // Line numbers of a syntax error count from the start of the embedded config, not the file.
    throw new ConfigErrors(
      error.errors.map((e) =>
        e.code === 'CONFIG_YAML' ? new MetallbError(e.code, e.message, 'data.config') : e,
      ),
    );
  }
}

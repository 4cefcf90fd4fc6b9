/**
 * Where scripts/setup.sh leaves kube-apiserver: built once per machine from test/kube-apiserver-build,
 * outside the repository, keyed by the Kubernetes version that module pins. go.mod is the one place
 * the version is written; setup.sh reads it the same way.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const goMod = fileURLToPath(new URL('../kube-apiserver-build/go.mod', import.meta.url));

export function kubeApiServerVersion(): string {
  const match = /^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v\S+)/m.exec(readFileSync(goMod, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`${goMod} does not require k8s.io/kubernetes`);
  return match[1];
}

/** The binary's path; throws with the fix if it has not been built on this machine yet. */
export function kubeApiServerBinary(): string {
  const cache = process.env['METALLB_TS_CACHE'] || join(homedir(), '.cache', 'metallb-ts');
  const binary = join(cache, `kube-apiserver-${kubeApiServerVersion()}`);
  if (!existsSync(binary)) {
    throw new Error(
      `kube-apiserver is not built at ${binary}: run \`bash scripts/setup.sh\` (or \`npm test\`)`,
    );
  }
  return binary;
}

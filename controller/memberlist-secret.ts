/**
 * The `memberlist` Secret holds the key speakers use to authenticate their membership traffic.
 * The controller creates it once, with a random key, if it does not exist, as MetalLB does; it
 * never rewrites an existing one (rotating it would split the speakers).
 */
import { randomBytes } from 'node:crypto';
import type { CoreV1Api } from '@kubernetes/client-node';
import { apiStatus } from '../shared/k8s/client.ts';

export const MEMBERLIST_KEY = 'secretkey';

/** Returns true when it created the Secret, false when one was already there. */
export async function ensureMemberlistSecret(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<boolean> {
  try {
    await core.readNamespacedSecret({ name, namespace });
    return false;
  } catch (error) {
    if (apiStatus(error) !== 404) throw error;
  }
  try {
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name, namespace },
        type: 'Opaque',
        // The value is text (base64 of 48 random bytes), as MetalLB's `openssl rand -base64`: the
        // speaker receives it through an environment variable, where raw bytes could hold a NUL.
        stringData: { [MEMBERLIST_KEY]: randomBytes(48).toString('base64') },
      },
    });
    return true;
  } catch (error) {
    // Created meanwhile by another replica: theirs is as good as ours.
    if (apiStatus(error) === 409) return false;
    throw error;
  }
}

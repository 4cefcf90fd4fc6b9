/**
 * The End-of-RIB marker (RFC 4724 §2): after the initial table of a family, an UPDATE saying "that
 * was all". For IPv4 unicast it is an UPDATE with nothing in it; for any other family, an UPDATE
 * whose only attribute is an empty MP_UNREACH_NLRI of that family. Peers doing graceful restart wait
 * for it before dropping routes we did not re-announce.
 */
import type { Family } from '../../../shared/ip/address.ts';
import type { SessionOptions } from './session-options.ts';
import { encodeUpdate, type Update } from './update.ts';

// No AS numbers are involved, so the 2- or 4-octet choice cannot matter.
const ANY_OPTIONS: SessionOptions = { fourOctetAs: true };

export function endOfRibUpdate(family: Family): Update {
  return {
    type: 'update',
    withdrawnRoutes: [],
    attributes: family === 4 ? [] : [{ kind: 'mpUnreachNlri', family, withdrawn: [] }],
    nlri: [],
  };
}

/** The encoded marker: 23 bytes for IPv4, 29 for IPv6. */
export function endOfRib(family: Family): Buffer {
  return encodeUpdate(endOfRibUpdate(family), ANY_OPTIONS);
}

/** The family a received UPDATE marks the end of, or undefined when it is not a marker. */
export function endOfRibFamily(update: Update): Family | undefined {
  if (update.withdrawnRoutes.length > 0 || update.nlri.length > 0) return undefined;
  if (update.attributes.length === 0) return 4;
  const [only] = update.attributes;
  if (update.attributes.length === 1 && only?.kind === 'mpUnreachNlri' && only.withdrawn.length === 0) {
    return only.family;
  }
  return undefined;
}

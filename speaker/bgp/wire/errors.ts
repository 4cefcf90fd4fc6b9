/**
 * The errors of the BGP wire layer, shaped like the NOTIFICATION they end in (RFC 4271 §4.5, §6):
 * every decoding failure carries the error code, subcode and data the RFC prescribes for it, so the
 * FSM builds the NOTIFICATION from the error without knowing what went wrong. Decoders never throw
 * anything else, whatever the bytes (test/unit/bgp-fuzz.test.ts holds them to it).
 */
import { MetallbError, type ErrorCode } from '../../../shared/errors.ts';

/** NOTIFICATION error codes: RFC 4271 §4.5, plus ROUTE-REFRESH Message Error from RFC 7313 §5. */
export const ERROR_CODE = {
  MESSAGE_HEADER: 1,
  OPEN_MESSAGE: 2,
  UPDATE_MESSAGE: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM: 5,
  CEASE: 6,
  ROUTE_REFRESH: 7,
} as const;
export type BgpErrorCode = (typeof ERROR_CODE)[keyof typeof ERROR_CODE];

/** Message Header Error subcodes (RFC 4271 §6.1). */
export const HEADER_SUBCODE = {
  CONNECTION_NOT_SYNCHRONIZED: 1,
  BAD_MESSAGE_LENGTH: 2,
  BAD_MESSAGE_TYPE: 3,
} as const;

/** OPEN Message Error subcodes (RFC 4271 §6.2; 5 is deprecated; 7 from RFC 5492 §5). */
export const OPEN_SUBCODE = {
  UNSPECIFIC: 0,
  UNSUPPORTED_VERSION_NUMBER: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_IDENTIFIER: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7,
} as const;

/** UPDATE Message Error subcodes (RFC 4271 §6.3; 7 is deprecated). */
export const UPDATE_SUBCODE = {
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: 2,
  MISSING_WELL_KNOWN_ATTRIBUTE: 3,
  ATTRIBUTE_FLAGS_ERROR: 4,
  ATTRIBUTE_LENGTH_ERROR: 5,
  INVALID_ORIGIN_ATTRIBUTE: 6,
  INVALID_NEXT_HOP_ATTRIBUTE: 8,
  OPTIONAL_ATTRIBUTE_ERROR: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;

/** Finite State Machine Error subcodes (RFC 6608 §3): which state received the unexpected message. */
export const FSM_SUBCODE = {
  UNSPECIFIED: 0,
  UNEXPECTED_MESSAGE_IN_OPEN_SENT: 1,
  UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM: 2,
  UNEXPECTED_MESSAGE_IN_ESTABLISHED: 3,
} as const;

/** Cease subcodes (RFC 4486; 9, Hard Reset, from RFC 8538). */
export const CEASE_SUBCODE = {
  MAXIMUM_PREFIXES_REACHED: 1,
  ADMINISTRATIVE_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMINISTRATIVE_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIGURATION_CHANGE: 6,
  CONNECTION_COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
  HARD_RESET: 9,
} as const;

/** ROUTE-REFRESH Message Error subcodes (RFC 7313 §5). */
export const ROUTE_REFRESH_SUBCODE = { INVALID_MESSAGE_LENGTH: 1 } as const;

/**
 * How RFC 7606 §2 says a receiver should handle a malformed UPDATE, weakest to strongest:
 * - attribute-discard: drop the attribute, keep the rest of the UPDATE;
 * - treat-as-withdraw: keep the session, treat the UPDATE's routes as withdrawn;
 * - session-reset: send the NOTIFICATION and close (RFC 4271's only answer, and the only one for
 *   errors outside UPDATE attributes, where the message boundaries or the NLRI cannot be trusted).
 */
export type ErrorHandling = 'attribute-discard' | 'treat-as-withdraw' | 'session-reset';

const ERROR_HANDLING_STRENGTH: Readonly<Record<ErrorHandling, number>> = {
  'attribute-discard': 0,
  'treat-as-withdraw': 1,
  'session-reset': 2,
};

/** RFC 7606 §3: of several errors in one UPDATE, the one needing the strongest action wins. */
export function strongestError(errors: readonly BgpWireError[]): BgpWireError | undefined {
  let strongest: BgpWireError | undefined;
  for (const error of errors) {
    if (
      strongest === undefined ||
      ERROR_HANDLING_STRENGTH[error.errorHandling] > ERROR_HANDLING_STRENGTH[strongest.errorHandling]
    ) {
      strongest = error;
    }
  }
  return strongest;
}

const METALLB_CODES: Readonly<Record<BgpErrorCode, ErrorCode>> = {
  1: 'BGP_MESSAGE_HEADER_ERROR',
  2: 'BGP_OPEN_MESSAGE_ERROR',
  3: 'BGP_UPDATE_MESSAGE_ERROR',
  4: 'BGP_HOLD_TIMER_EXPIRED',
  5: 'BGP_FSM_ERROR',
  6: 'BGP_CEASE',
  7: 'BGP_ROUTE_REFRESH_ERROR',
};

export interface BgpWireErrorOptions {
  /** The NOTIFICATION data (RFC 4271 §6): the offending attribute, length field, type... */
  readonly data?: Buffer;
  /** Where in the message, e.g. `update.attributes[2]`, `open.capabilities[0]`. */
  readonly path?: string;
  /** Defaults to session-reset: only UPDATE attribute errors are ever handled more gently. */
  readonly errorHandling?: ErrorHandling;
}

export class BgpWireError extends MetallbError {
  readonly errorCode: BgpErrorCode;
  readonly errorSubcode: number;
  /** NOTIFICATION data: always a copy, so an error never pins a large receive buffer. */
  readonly data: Buffer;
  readonly errorHandling: ErrorHandling;

  constructor(
    errorCode: BgpErrorCode,
    errorSubcode: number,
    message: string,
    options: BgpWireErrorOptions = {},
  ) {
    super(METALLB_CODES[errorCode], `${message} (NOTIFICATION ${errorCode}/${errorSubcode})`, options.path);
    this.name = 'BgpWireError';
    this.errorCode = errorCode;
    this.errorSubcode = errorSubcode;
    this.data = Buffer.from(options.data ?? Buffer.alloc(0));
    this.errorHandling = options.errorHandling ?? 'session-reset';
  }
}

/**
 * Our own bug, not the peer's: an encoder was handed something the wire cannot carry (a /33, a
 * 70,000-byte UPDATE, an IPv4 next hop for IPv6 routes). Plain MetallbError so that it can never be
 * mistaken for a reason to send a NOTIFICATION.
 */
export function encodeError(message: string, path = ''): MetallbError {
  return new MetallbError('BGP_ENCODE_INVALID', message, path);
}

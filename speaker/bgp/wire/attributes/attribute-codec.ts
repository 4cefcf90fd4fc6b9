/**
 * What every path attribute codec shares (RFC 4271 §4.3 "Path Attributes"): the flag bits, the
 * context a decoder gets, and the error it raises. Each attribute lives in its own file and exports
 * one AttributeCodec; path-attributes.ts frames them and dispatches on the type code.
 */
import { BgpWireError, ERROR_CODE, type ErrorHandling } from '../errors.ts';
import type { SessionOptions } from '../session-options.ts';
import type { UnknownAttribute } from './unknown.ts';

/** Attribute Flags (§4.3): the high four bits; the low four are sent as zero and ignored on receipt. */
export const FLAG = {
  OPTIONAL: 0x80,
  TRANSITIVE: 0x40,
  PARTIAL: 0x20,
  EXTENDED_LENGTH: 0x10,
} as const;

/** The flags a received attribute's meaning depends on; Extended Length only frames it. */
export const MEANINGFUL_FLAGS = FLAG.OPTIONAL | FLAG.TRANSITIVE | FLAG.PARTIAL;
/** The two bits whose value each attribute type fixes (RFC 7606 §3 checks only these). */
export const CATEGORY_FLAGS = FLAG.OPTIONAL | FLAG.TRANSITIVE;

/** Attribute categories (§5): their fixed Optional and Transitive bits. */
export const CATEGORY = {
  wellKnown: FLAG.TRANSITIVE,
  optionalTransitive: FLAG.OPTIONAL | FLAG.TRANSITIVE,
  optionalNonTransitive: FLAG.OPTIONAL,
} as const;

export interface AttributeContext {
  readonly options: SessionOptions;
  /** The Optional, Transitive and Partial bits as received. */
  readonly flags: number;
  /** The whole attribute as received (flags, type, length, value): the data of most errors (§6.3). */
  readonly raw: Buffer;
  /** `update.attributes[i]`, for error paths. */
  readonly path: string;
}

export interface AttributeCodec<A> {
  readonly code: number;
  /** As the RFCs spell it, for messages. */
  readonly name: string;
  /** The Optional and Transitive bits this attribute must carry. */
  readonly category: number;
  /**
   * RFC 7606's handling when this attribute is malformed. Errors in MP_REACH_NLRI and
   * MP_UNREACH_NLRI reset the session, since the routes they carry cannot be located otherwise.
   */
  readonly errorHandling: ErrorHandling;
  /**
   * Decodes the value. May return something other than A: the multiprotocol attributes hand back an
   * UnknownAttribute for address families we never negotiate, so those stay verbatim.
   */
  decode(value: Buffer, context: AttributeContext): A | UnknownAttribute;
  /** The value alone; path-attributes.ts adds flags, type and length. */
  encode(attribute: A, options: SessionOptions, path: string): Buffer;
}

/** An UPDATE Message Error about one attribute, by default with the attribute itself as data. */
export function attributeError(
  context: AttributeContext,
  codec: { readonly name: string; readonly errorHandling: ErrorHandling },
  subcode: number,
  message: string,
  data: Buffer = context.raw,
): BgpWireError {
  return new BgpWireError(ERROR_CODE.UPDATE_MESSAGE, subcode, `${codec.name}: ${message}`, {
    data,
    path: context.path,
    errorHandling: codec.errorHandling,
  });
}

/**
 * The 19-byte header every BGP message starts with (RFC 4271 §4.1): a 16-byte marker of all ones,
 * the total message length, and the message type.
 */
import { encodeError, BgpWireError, ERROR_CODE, HEADER_SUBCODE } from './errors.ts';

export const MARKER_LENGTH = 16;
export const HEADER_LENGTH = 19;
/**
 * RFC 4271 §4.1. The Extended Message capability (RFC 8654) would allow 65535; we never advertise it,
 * so a peer must not send more than this to us, and we never need more to announce a route.
 */
export const MAX_MESSAGE_LENGTH = 4096;
const MARKER_BYTE = 0xff;
const OFFSET = { length: 16, type: 18 } as const;

/** Message type codes: RFC 4271 §4.1 and RFC 2918 §3 (ROUTE-REFRESH). */
export const MESSAGE_TYPE = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  ROUTE_REFRESH: 5,
} as const;

export interface Header {
  /** Total message length, header included. */
  readonly length: number;
  readonly type: number;
}

/**
 * Checks as much of a header as `bytes` holds (it may be a partial read): every marker byte present
 * must be 0xff (§6.1 Connection Not Synchronized; RFC 4271 dropped authentication in the marker),
 * and a complete length field must be within 19..4096 (§6.1 Bad Message Length, the data being the
 * length field). The type is not checked here: that needs the message, see message.ts.
 */
export function checkHeaderPrefix(bytes: Buffer): void {
  const markerBytes = Math.min(bytes.length, MARKER_LENGTH);
  for (let i = 0; i < markerBytes; i++) {
    if (bytes[i] !== MARKER_BYTE) {
      throw new BgpWireError(
        ERROR_CODE.MESSAGE_HEADER,
        HEADER_SUBCODE.CONNECTION_NOT_SYNCHRONIZED,
        `marker byte ${i} is 0x${bytes[i]!.toString(16).padStart(2, '0')}, not 0xff`,
        { path: 'header.marker' },
      );
    }
  }
  if (bytes.length >= OFFSET.length + 2) {
    const length = bytes.readUInt16BE(OFFSET.length);
    if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH) {
      throw badLength(length, `message length ${length} is outside ${HEADER_LENGTH}..${MAX_MESSAGE_LENGTH}`);
    }
  }
}

/** Decodes and checks a complete header (the first 19 bytes of `bytes`). */
export function decodeHeader(bytes: Buffer): Header {
  if (bytes.length < HEADER_LENGTH) {
    // Only reachable when a caller hands over a fragment: MessageReader never does.
    throw new BgpWireError(
      ERROR_CODE.MESSAGE_HEADER,
      HEADER_SUBCODE.BAD_MESSAGE_LENGTH,
      `a header is ${HEADER_LENGTH} bytes, got ${bytes.length}`,
      { path: 'header' },
    );
  }
  checkHeaderPrefix(bytes);
  return { length: bytes.readUInt16BE(OFFSET.length), type: bytes[OFFSET.type]! };
}

export function encodeHeader(header: Header): Buffer {
  const bytes = Buffer.alloc(HEADER_LENGTH);
  writeHeader(header, bytes);
  return bytes;
}

/** A zeroed message of `bodyLength` bytes after a filled-in header; the caller writes the body at 19. */
export function allocMessage(type: number, bodyLength: number): Buffer {
  const message = Buffer.alloc(HEADER_LENGTH + bodyLength);
  writeHeader({ length: message.length, type }, message);
  return message;
}

/** Bad Message Length with the length field as data (RFC 4271 §6.1). */
export function badLength(length: number, message: string): BgpWireError {
  const data = Buffer.alloc(2);
  data.writeUInt16BE(length & 0xffff);
  return new BgpWireError(ERROR_CODE.MESSAGE_HEADER, HEADER_SUBCODE.BAD_MESSAGE_LENGTH, message, {
    data,
    path: 'header.length',
  });
}

function writeHeader(header: Header, target: Buffer): void {
  if (header.length < HEADER_LENGTH || header.length > MAX_MESSAGE_LENGTH) {
    throw encodeError(
      `a ${header.length}-byte message is outside ${HEADER_LENGTH}..${MAX_MESSAGE_LENGTH}`,
      'header.length',
    );
  }
  if (!Number.isInteger(header.type) || header.type < 0 || header.type > 0xff) {
    throw encodeError(`message type ${header.type} is not an octet`, 'header.type');
  }
  target.fill(MARKER_BYTE, 0, MARKER_LENGTH);
  target.writeUInt16BE(header.length, OFFSET.length);
  target[OFFSET.type] = header.type;
}

/**
 * NOTIFICATION (RFC 4271 §4.5): error code, subcode and data, sent just before closing the
 * connection. The Administrative Shutdown and Reset Cease subcodes may carry a short UTF-8 message
 * for the peer's operator (RFC 9003 §2), which we use to say why a session is going away.
 */
import { requireUint, UINT8_MAX } from './encode-checks.ts';
import {
  CEASE_SUBCODE,
  ERROR_CODE,
  FSM_SUBCODE,
  HEADER_SUBCODE,
  OPEN_SUBCODE,
  ROUTE_REFRESH_SUBCODE,
  UPDATE_SUBCODE,
  type BgpWireError,
} from './errors.ts';
import { allocMessage, badLength, HEADER_LENGTH, MAX_MESSAGE_LENGTH, MESSAGE_TYPE } from './header.ts';
import { messageBody } from './message-body.ts';

const FIXED_BODY_LENGTH = 2;
/** The most data a NOTIFICATION can carry within the 4096-byte maximum. */
export const MAX_NOTIFICATION_DATA = MAX_MESSAGE_LENGTH - HEADER_LENGTH - FIXED_BODY_LENGTH;
/** RFC 9003 §2: the Shutdown Communication is at most 255 octets of UTF-8. */
const MAX_SHUTDOWN_COMMUNICATION = 255;

export interface Notification {
  readonly type: 'notification';
  readonly errorCode: number;
  readonly errorSubcode: number;
  readonly data: Buffer;
}

/** §6.1: shorter than 21 bytes is a Bad Message Length. Unknown codes are still decoded: a peer's
 * NOTIFICATION is information, never a reason to send one back (§6.4). */
export function decodeNotification(message: Buffer): Notification {
  const body = messageBody(message, 'NOTIFICATION');
  if (body.length < FIXED_BODY_LENGTH) {
    throw badLength(
      message.length,
      `a NOTIFICATION is at least ${HEADER_LENGTH + FIXED_BODY_LENGTH} bytes, got ${message.length}`,
    );
  }
  return {
    type: 'notification',
    errorCode: body[0]!,
    errorSubcode: body[1]!,
    data: Buffer.from(body.subarray(FIXED_BODY_LENGTH)),
  };
}

export function encodeNotification(notification: Notification): Buffer {
  requireUint(notification.errorCode, UINT8_MAX, 'notification.errorCode');
  requireUint(notification.errorSubcode, UINT8_MAX, 'notification.errorSubcode');
  requireUint(notification.data.length, MAX_NOTIFICATION_DATA, 'notification.data.length');
  const message = allocMessage(MESSAGE_TYPE.NOTIFICATION, FIXED_BODY_LENGTH + notification.data.length);
  const body = message.subarray(HEADER_LENGTH);
  body[0] = notification.errorCode;
  body[1] = notification.errorSubcode;
  notification.data.copy(body, FIXED_BODY_LENGTH);
  return message;
}

/** The NOTIFICATION a decoding error calls for; data beyond what fits in one message is cut. */
export function notificationFromError(error: BgpWireError): Notification {
  return {
    type: 'notification',
    errorCode: error.errorCode,
    errorSubcode: error.errorSubcode,
    data: Buffer.from(error.data.subarray(0, MAX_NOTIFICATION_DATA)),
  };
}

/**
 * A Cease (RFC 4486). For Administrative Shutdown and Administrative Reset, `reason` becomes the
 * Shutdown Communication (RFC 9003 §2): a length octet and UTF-8, cut at a character boundary to
 * 255 bytes. Other subcodes carry no data.
 */
export function cease(subcode: number, reason?: string): Notification {
  let data = Buffer.alloc(0);
  if (reason !== undefined && carriesShutdownCommunication(subcode)) {
    const text = truncateUtf8(reason, MAX_SHUTDOWN_COMMUNICATION);
    data = Buffer.concat([Buffer.from([text.length]), text]);
  }
  return { type: 'notification', errorCode: ERROR_CODE.CEASE, errorSubcode: subcode, data };
}

/**
 * The operator's message in a received Administrative Shutdown/Reset, or undefined when there is
 * none or it is malformed (RFC 9003: a bad one is logged as data, never an error).
 */
export function shutdownCommunication(notification: Notification): string | undefined {
  if (notification.errorCode !== ERROR_CODE.CEASE) return undefined;
  if (!carriesShutdownCommunication(notification.errorSubcode)) return undefined;
  const length = notification.data[0];
  if (length === undefined || length === 0 || notification.data.length < 1 + length) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(notification.data.subarray(1, 1 + length));
  } catch {
    return undefined;
  }
}

const CODE_NAMES: Readonly<Record<number, readonly [string, Readonly<Record<number, string>>]>> = {
  [ERROR_CODE.MESSAGE_HEADER]: ['Message Header Error', names(HEADER_SUBCODE)],
  [ERROR_CODE.OPEN_MESSAGE]: ['OPEN Message Error', names(OPEN_SUBCODE)],
  [ERROR_CODE.UPDATE_MESSAGE]: ['UPDATE Message Error', names(UPDATE_SUBCODE)],
  [ERROR_CODE.HOLD_TIMER_EXPIRED]: ['Hold Timer Expired', {}],
  [ERROR_CODE.FSM]: ['Finite State Machine Error', names(FSM_SUBCODE)],
  [ERROR_CODE.CEASE]: ['Cease', names(CEASE_SUBCODE)],
  [ERROR_CODE.ROUTE_REFRESH]: ['ROUTE-REFRESH Message Error', names(ROUTE_REFRESH_SUBCODE)],
};

/** For logs and events: `Cease/ADMINISTRATIVE_SHUTDOWN (6/2)`. */
export function describeNotification(notification: Notification): string {
  const [codeName, subcodes] = CODE_NAMES[notification.errorCode] ?? [
    `error code ${notification.errorCode}`,
    {},
  ];
  const subcode = subcodes[notification.errorSubcode];
  const text = subcode === undefined ? codeName : `${codeName}/${subcode}`;
  const message = shutdownCommunication(notification);
  const suffix = message === undefined ? '' : `: "${message}"`;
  return `${text} (${notification.errorCode}/${notification.errorSubcode})${suffix}`;
}

function carriesShutdownCommunication(subcode: number): boolean {
  return subcode === CEASE_SUBCODE.ADMINISTRATIVE_SHUTDOWN || subcode === CEASE_SUBCODE.ADMINISTRATIVE_RESET;
}

function truncateUtf8(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return bytes;
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) so a multi-byte character is never split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function names(table: Readonly<Record<string, number>>): Record<number, string> {
  return Object.fromEntries(Object.entries(table).map(([name, value]) => [value, name]));
}

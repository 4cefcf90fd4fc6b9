/**
 * KEEPALIVE (RFC 4271 §4.4): the header alone, 19 bytes, sent to keep the hold timer from expiring.
 */
import { allocMessage, badLength, HEADER_LENGTH, MESSAGE_TYPE } from './header.ts';
import { messageBody } from './message-body.ts';

export interface Keepalive {
  readonly type: 'keepalive';
}

export const KEEPALIVE: Keepalive = Object.freeze({ type: 'keepalive' });

/** §6.1: a KEEPALIVE of any length but 19 is a Bad Message Length. */
export function decodeKeepalive(message: Buffer): Keepalive {
  const body = messageBody(message, 'KEEPALIVE');
  if (body.length !== 0) {
    throw badLength(message.length, `a KEEPALIVE is ${HEADER_LENGTH} bytes, got ${message.length}`);
  }
  return { type: 'keepalive' };
}

export function encodeKeepalive(_keepalive: Keepalive = KEEPALIVE): Buffer {
  return allocMessage(MESSAGE_TYPE.KEEPALIVE, 0);
}

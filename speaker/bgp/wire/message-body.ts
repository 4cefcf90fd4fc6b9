/**
 * The common first step of every message decoder: check the header, check that the buffer is exactly
 * the one message the length field announces, and hand back the body after the header.
 */
import { badLength, decodeHeader, HEADER_LENGTH, MESSAGE_TYPE } from './header.ts';
import { encodeError } from './errors.ts';

export type MessageTypeName = keyof typeof MESSAGE_TYPE;

export function messageBody(message: Buffer, expected: MessageTypeName): Buffer {
  const header = decodeHeader(message);
  if (header.length !== message.length) {
    throw badLength(
      header.length,
      `the header says ${header.length} bytes, the message is ${message.length}`,
    );
  }
  if (header.type !== MESSAGE_TYPE[expected]) {
    // A caller's mistake (message.ts dispatches on the type), so not the peer's error.
    throw encodeError(`message type ${header.type} is not ${expected} (${MESSAGE_TYPE[expected]})`);
  }
  return message.subarray(HEADER_LENGTH);
}

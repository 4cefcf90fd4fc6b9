/**
 * Packet authentication: an HMAC-SHA256 over everything before it, keyed with the `memberlist`
 * Secret. Only holders of the key can make a node look alive, suspect another, or leave in its name.
 * Packets are signed, not encrypted: membership carries node names and states, nothing secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MAC_BYTES } from './wire.ts';

/** The body followed by its MAC: the bytes to send. */
export function sign(key: Buffer, body: Uint8Array): Buffer {
  return Buffer.concat([body, mac(key, body)]);
}

/** The body if the trailing MAC matches, otherwise undefined (also for packets too short to carry one). */
export function verify(key: Buffer, packet: Uint8Array): Buffer | undefined {
  if (packet.length < MAC_BYTES) return undefined;
  const body = packet.subarray(0, packet.length - MAC_BYTES);
  // Constant time, so response timing cannot be used to guess a valid MAC byte by byte.
  return timingSafeEqual(packet.subarray(body.length), mac(key, body)) ? Buffer.from(body) : undefined;
}

function mac(key: Buffer, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update(body).digest();
}

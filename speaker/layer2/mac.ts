/**
 * Ethernet MAC addresses as 6-byte Buffers: the form the wire codecs and the packet socket use, so a
 * MAC read from a frame goes back out without conversion. Text is only for logs, tests and `ip`.
 */
import { MetallbError } from '../../shared/errors.ts';

export const MAC_LENGTH = 6;

// Six colon-separated pairs, the form `ip link` prints and Go's net.ParseMAC accepts for EUI-48.
const MAC_TEXT = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Parses `aa:bb:cc:dd:ee:ff` (either case). Throws MAC_INVALID naming the text. */
export function parseMac(text: string): Buffer {
  if (!MAC_TEXT.test(text)) throw new MetallbError('MAC_INVALID', `invalid MAC address ${text}`);
  return Buffer.from(text.replaceAll(':', ''), 'hex');
}

/** Lower-case colon form, as `ip link` prints it. */
export function formatMac(mac: Buffer): string {
  requireMac(mac, 'mac');
  return [...mac].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

/** Throws MAC_INVALID unless `mac` is exactly 6 bytes; `field` names it in the message. */
export function requireMac(mac: Buffer, field: string): void {
  if (mac.length !== MAC_LENGTH) {
    throw new MetallbError('MAC_INVALID', `a MAC address is ${MAC_LENGTH} bytes, got ${mac.length}`, field);
  }
}

/** ff:ff:ff:ff:ff:ff. A fresh Buffer each call: Buffers are mutable and this must never change. */
export function broadcastMac(): Buffer {
  return Buffer.alloc(MAC_LENGTH, 0xff);
}

/** The I/G bit (IEEE 802-2014 §8.2.2): set for group (multicast and broadcast) addresses. */
export function isMulticastMac(mac: Buffer): boolean {
  return mac.length === MAC_LENGTH && ((mac[0] ?? 0) & 0x01) === 1;
}

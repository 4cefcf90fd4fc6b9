/**
 * The ICMPv6 checksum (RFC 4443 §2.3): the Internet checksum (RFC 1071) over the IPv6 pseudo-header
 * (RFC 8200 §8.1) followed by the ICMPv6 message. A packet socket sends frames as we build them, so
 * unlike a raw ICMPv6 socket the kernel fills in nothing: this is ours to compute.
 */

const NEXT_HEADER_ICMPV6 = 58;

/**
 * Checksum of `message` sent from `source` to `destination` (16-byte address fields). To compute,
 * pass the message with its checksum field zeroed; to verify, pass it as received: a valid one
 * yields 0 (both ones'-complement zeros, 0x0000 and 0xffff, are then accepted, per RFC 1071).
 */
export function icmpv6Checksum(source: Buffer, destination: Buffer, message: Buffer): number {
  // Pseudo-header: source, destination, 32-bit upper-layer length, 24 zero bits, next header.
  let sum = sumWords(source) + sumWords(destination);
  sum += Math.floor(message.length / 0x10000) + (message.length & 0xffff) + NEXT_HEADER_ICMPV6;
  sum += sumWords(message);
  // Fold the carries back in (end-around carry) until the sum fits 16 bits.
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** Sum of big-endian 16-bit words; an odd trailing byte is padded with a zero byte (RFC 1071). */
function sumWords(bytes: Buffer): number {
  let sum = 0;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  if (even < bytes.length) sum += (bytes[even] ?? 0) << 8;
  return sum;
}

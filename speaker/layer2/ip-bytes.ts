/**
 * IpAddress <-> network-order bytes, the form addresses take inside ARP and IPv6 headers. Reading
 * never fails for in-bounds offsets (every 4 or 16 bytes are some address), which keeps the frame
 * decoders free of exceptions other than their own typed ones.
 */
import { MetallbError } from '../../shared/errors.ts';
import type { Family, IpAddress } from '../../shared/ip/address.ts';

export const IP_BYTES: Readonly<Record<Family, number>> = { 4: 4, 6: 16 };

/** The address in network byte order: 4 bytes for IPv4, 16 for IPv6. */
export function ipToBytes(ip: IpAddress): Buffer {
  const bytes = Buffer.alloc(IP_BYTES[ip.family]);
  writeIp(ip, bytes, 0);
  return bytes;
}

/** 4 bytes read as IPv4, 16 as IPv6; any other length throws IP_INVALID. */
export function ipFromBytes(bytes: Buffer): IpAddress {
  if (bytes.length === 4) return readIpv4(bytes, 0);
  if (bytes.length === 16) return readIpv6(bytes, 0);
  throw new MetallbError('IP_INVALID', `an IP address is 4 or 16 bytes, got ${bytes.length}`);
}

export function readIpv4(buffer: Buffer, offset: number): IpAddress {
  return { family: 4, value: BigInt(buffer.readUInt32BE(offset)) };
}

export function readIpv6(buffer: Buffer, offset: number): IpAddress {
  return {
    family: 6,
    value: (buffer.readBigUInt64BE(offset) << 64n) | buffer.readBigUInt64BE(offset + 8),
  };
}

/** Writes the address at `offset`; the caller has checked the family fits the field. */
export function writeIp(ip: IpAddress, buffer: Buffer, offset: number): void {
  if (ip.family === 4) {
    buffer.writeUInt32BE(Number(ip.value & 0xffffffffn), offset);
  } else {
    buffer.writeBigUInt64BE((ip.value >> 64n) & 0xffffffffffffffffn, offset);
    buffer.writeBigUInt64BE(ip.value & 0xffffffffffffffffn, offset + 8);
  }
}

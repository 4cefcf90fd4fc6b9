/**
 * The membership packet format: binary, versioned, every field bounded. Decoding is total: any
 * byte string either decodes or throws a MetallbError with a MEMBERSHIP_* code, and a decoded
 * packet re-encodes to exactly the same bytes (one encoding per value), which the fuzz test checks.
 *
 * Layout, big-endian, followed by the MAC_BYTES trailer auth.ts appends:
 *
 *   offset  size  field
 *   0       1     version (1)
 *   1       1     type: 1 ping, 2 ack, 3 ping-req, 4 leave, 5 gossip
 *   2       6     timestamp: the sender's wall clock in ms, for the replay window
 *   8       6     nonce: never repeated by one sender, for replays inside the window
 *   14      6     sender incarnation
 *   20      1+n   sender name (length byte, then n visible ASCII bytes)
 *   ping, ack, ping-req only:
 *           4     seq: pairs an ack with its ping
 *           1+n   target: the member pinged, or (ack) the member confirmed alive
 *   then    1     number of updates, each:
 *           1     state: 1 alive, 2 suspect, 3 dead, 4 left
 *           6     incarnation
 *           1+n   member name
 *
 * 48-bit integers hold wall-clock milliseconds (the starting incarnation is one, see swim.ts)
 * and still read back as exact JavaScript numbers.
 */
import { MetallbError } from '../../shared/errors.ts';

export const WIRE_VERSION = 1;
/**
 * The largest UDP payload that crosses any IPv6 link unfragmented (1280-byte minimum MTU less 40
 * bytes of IPv6 and 8 of UDP). A fragmented datagram is lost when any fragment is, which on a
 * loaded LAN would turn one drop into a false suspicion.
 */
export const MAX_PACKET_BYTES = 1232;
/** HMAC-SHA256 trailer length; auth.ts computes it. */
export const MAC_BYTES = 32;
/** What precedes the MAC may use the rest of the packet. */
export const MAX_BODY_BYTES = MAX_PACKET_BYTES - MAC_BYTES;
export const MAX_UPDATES = 255;
/** Kubernetes node names are DNS subdomains: at most 253 characters. */
export const MAX_NAME_BYTES = 253;
export const MAX_UINT48 = 2 ** 48 - 1;
export const MAX_SEQ = 2 ** 32 - 1;

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** One member's state as someone believes it; disseminated by piggybacking on other messages. */
export interface Update {
  readonly member: string;
  readonly state: MemberState;
  readonly incarnation: number;
}

interface Common {
  readonly sender: string;
  /** The sender's own incarnation: every packet is also first-hand news that the sender is alive. */
  readonly incarnation: number;
  readonly updates: readonly Update[];
}

/** Ping, its ack, and the request to ping on the sender's behalf: the probe exchange. */
export type ProbeMessage = Common & {
  readonly type: 'ping' | 'ack' | 'ping-req';
  readonly seq: number;
  readonly target: string;
};

/** Leave, and gossip (updates alone, for news that must not wait for the next probe). */
export type NoticeMessage = Common & { readonly type: 'leave' | 'gossip' };

export type Message = ProbeMessage | NoticeMessage;

export type MessageType = Message['type'];

export interface Packet {
  readonly timestampMs: number;
  readonly nonce: number;
  readonly message: Message;
}

const TYPE_CODES: Readonly<Record<MessageType, number>> = {
  ping: 1,
  ack: 2,
  'ping-req': 3,
  leave: 4,
  gossip: 5,
};
const STATE_CODES: Readonly<Record<MemberState, number>> = { alive: 1, suspect: 2, dead: 3, left: 4 };
const TYPES = invert(TYPE_CODES);
const STATES = invert(STATE_CODES);

// version, type, timestamp, nonce, incarnation; then the sender name.
const FIXED_HEADER_BYTES = 1 + 1 + 6 + 6 + 6;
const SEQ_BYTES = 4;
const UPDATE_FIXED_BYTES = 1 + 6;

/** Encoded length of a name field. Names are ASCII (checked when encoding), so bytes = characters. */
const nameLength = (name: string): number => 1 + name.length;

export function updateLength(update: Update): number {
  return UPDATE_FIXED_BYTES + nameLength(update.member);
}

/** Bytes `encodePacket` produces for this message, MAC excluded: how swim.ts budgets piggybacking. */
export function encodedLength(message: Message): number {
  let length = FIXED_HEADER_BYTES + nameLength(message.sender) + 1;
  if (hasProbeFields(message)) length += SEQ_BYTES + nameLength(message.target);
  for (const update of message.updates) length += updateLength(update);
  return length;
}

/** The packet without its MAC. Throws MEMBERSHIP_INVALID_FIELD or MEMBERSHIP_TOO_LARGE. */
export function encodePacket(packet: Packet): Buffer {
  const { message } = packet;
  if (message.updates.length > MAX_UPDATES) {
    throw new MetallbError(
      'MEMBERSHIP_TOO_LARGE',
      `${message.updates.length} updates exceed ${MAX_UPDATES}`,
      'updates',
    );
  }
  const length = encodedLength(message);
  if (length > MAX_BODY_BYTES) {
    throw new MetallbError(
      'MEMBERSHIP_TOO_LARGE',
      `${length} bytes exceed the ${MAX_BODY_BYTES}-byte limit`,
      'message',
    );
  }
  const writer = new Writer(length);
  writer.u8(WIRE_VERSION);
  writer.u8(TYPE_CODES[message.type]);
  writer.u48(packet.timestampMs, 'timestampMs');
  writer.u48(packet.nonce, 'nonce');
  writer.u48(message.incarnation, 'incarnation');
  writer.name(message.sender, 'sender');
  if (hasProbeFields(message)) {
    writer.u32(message.seq, 'seq');
    writer.name(message.target, 'target');
  }
  writer.u8(message.updates.length);
  message.updates.forEach((update, i) => {
    writer.u8(STATE_CODES[update.state]);
    writer.u48(update.incarnation, `updates[${i}].incarnation`);
    writer.name(update.member, `updates[${i}].member`);
  });
  return writer.buffer;
}

/** Decodes a packet whose MAC was already checked and removed. */
export function decodePacket(body: Uint8Array): Packet {
  if (body.length > MAX_BODY_BYTES) {
    throw new MetallbError(
      'MEMBERSHIP_TOO_LARGE',
      `${body.length} bytes exceed the ${MAX_BODY_BYTES}-byte limit`,
      'packet',
    );
  }
  const reader = new Reader(body);
  const version = reader.u8('version');
  if (version !== WIRE_VERSION) {
    throw new MetallbError(
      'MEMBERSHIP_VERSION',
      `version ${version} is not ${WIRE_VERSION}; is another speaker version running?`,
      'version',
    );
  }
  const typeCode = reader.u8('type');
  const type = TYPES.get(typeCode);
  if (type === undefined) {
    throw new MetallbError('MEMBERSHIP_UNKNOWN_TYPE', `unknown message type ${typeCode}`, 'type');
  }
  const timestampMs = reader.u48('timestampMs');
  const nonce = reader.u48('nonce');
  const incarnation = reader.u48('incarnation');
  const sender = reader.name('sender');
  const probe =
    type === 'ping' || type === 'ack' || type === 'ping-req'
      ? { type, seq: reader.u32('seq'), target: reader.name('target') }
      : { type };
  const count = reader.u8('updates');
  const updates: Update[] = [];
  for (let i = 0; i < count; i++) {
    const stateCode = reader.u8(`updates[${i}].state`);
    const state = STATES.get(stateCode);
    if (state === undefined) {
      throw new MetallbError(
        'MEMBERSHIP_INVALID_FIELD',
        `unknown member state ${stateCode}`,
        `updates[${i}].state`,
      );
    }
    const updateIncarnation = reader.u48(`updates[${i}].incarnation`);
    updates.push({ member: reader.name(`updates[${i}].member`), state, incarnation: updateIncarnation });
  }
  if (reader.remaining > 0) {
    throw new MetallbError(
      'MEMBERSHIP_TRAILING_BYTES',
      `${reader.remaining} bytes after the last field`,
      'packet',
    );
  }
  return { timestampMs, nonce, message: { ...probe, sender, incarnation, updates } as Message };
}

function hasProbeFields(message: Message): message is ProbeMessage {
  return message.type === 'ping' || message.type === 'ack' || message.type === 'ping-req';
}

/** Visible ASCII only: every Kubernetes node name fits, and no control byte ever reaches a log line. */
const NAME = new RegExp(`^[\\x21-\\x7e]{1,${MAX_NAME_BYTES}}$`);

/** Whether `name` can be a sender, target or member on the wire. */
export function isWireName(name: string): boolean {
  return NAME.test(name);
}

function validName(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length > MAX_NAME_BYTES) return false;
  return bytes.every((byte) => byte >= 0x21 && byte <= 0x7e);
}

class Writer {
  readonly buffer: Buffer;
  private offset = 0;

  constructor(length: number) {
    this.buffer = Buffer.alloc(length);
  }

  u8(value: number): void {
    this.offset = this.buffer.writeUInt8(value, this.offset);
  }

  u32(value: number, path: string): void {
    if (!Number.isInteger(value) || value < 0 || value > MAX_SEQ) invalid(path, `${value} is not a uint32`);
    this.offset = this.buffer.writeUInt32BE(value, this.offset);
  }

  u48(value: number, path: string): void {
    if (!Number.isInteger(value) || value < 0 || value > MAX_UINT48) {
      invalid(path, `${value} is not a uint48`);
    }
    this.offset = this.buffer.writeUIntBE(value, this.offset, 6);
  }

  name(value: string, path: string): void {
    if (!isWireName(value)) {
      invalid(path, `${JSON.stringify(value)} is not 1-${MAX_NAME_BYTES} visible ASCII characters`);
    }
    this.u8(value.length);
    this.offset += this.buffer.write(value, this.offset, 'latin1');
  }
}

class Reader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  u8(path: string): number {
    return this.take(1, path)[0] ?? 0;
  }

  u32(path: string): number {
    return Buffer.from(this.take(4, path)).readUInt32BE(0);
  }

  u48(path: string): number {
    return Buffer.from(this.take(6, path)).readUIntBE(0, 6);
  }

  name(path: string): string {
    const bytes = this.take(this.u8(path), path);
    if (!validName(bytes)) {
      throw new MetallbError(
        'MEMBERSHIP_INVALID_FIELD',
        `not 1-${MAX_NAME_BYTES} visible ASCII characters`,
        path,
      );
    }
    return Buffer.from(bytes).toString('latin1');
  }

  private take(length: number, path: string): Uint8Array {
    if (this.remaining < length) {
      throw new MetallbError(
        'MEMBERSHIP_TRUNCATED',
        `needs ${length} bytes at offset ${this.offset}, ${this.remaining} left`,
        path,
      );
    }
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }
}

function invalid(path: string, message: string): never {
  throw new MetallbError('MEMBERSHIP_INVALID_FIELD', message, path);
}

function invert<K extends string>(codes: Readonly<Record<K, number>>): ReadonlyMap<number, K> {
  return new Map(Object.entries(codes).map(([key, code]) => [code as number, key as K]));
}

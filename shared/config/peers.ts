/**
 * `peers[]`: the BGP routers each speaker opens a session to. Only what can be known from the
 * config is checked here; whether `source-address` exists is a property of each node, left to the
 * speaker.
 */
import { Buffer } from 'node:buffer';
import { MetallbError } from '../errors.ts';
import { formatIp, parseIp, type IpAddress } from '../ip/address.ts';
import { parseDurationMs } from './duration.ts';
import type { Field, ObjectReader } from './reader.ts';
import { parseNodeSelector, selectorsKey } from './selectors.ts';
import type { Peer } from './types.ts';

const PEER_KEYS = [
  'peer-address',
  'peer-asn',
  'my-asn',
  'peer-port',
  'source-address',
  'hold-time',
  'keepalive-time',
  'router-id',
  'node-selectors',
  'password',
  'ebgp-multihop',
  'bfd-profile',
];
const UINT32_MAX = 0xffff_ffff;
const BGP_PORT = 179;
const DEFAULT_HOLD_TIME_SECONDS = 90;
// The OPEN message carries the hold time as 16 bits of seconds.
const MAX_HOLD_TIME_SECONDS = 0xffff;
// Linux TCP_MD5SIG_MAXKEYLEN: a longer key makes setsockopt fail and the session never comes up.
const MAX_PASSWORD_BYTES = 80;

/** An AS number: required, and 0 (what go-yaml leaves in an absent field) is not one. */
function parseAsn(reader: ObjectReader, key: string): number | undefined {
  return reader.required(key)?.integer(1, UINT32_MAX);
}

/**
 * Hold time in whole seconds. MetalLB truncates to seconds and wants 0 (no keepalives) or at least
 * 3 s; unlike MetalLB, a sub-second value such as "500ms" is refused instead of becoming 0.
 */
function holdTimeSeconds(text: string): number {
  const ms = parseDurationMs(text);
  const seconds = Math.floor(ms / 1000);
  if (ms < 0 || (ms > 0 && seconds < 3)) {
    throw new MetallbError('CONFIG_INVALID', 'hold time must be 0 or at least 3s');
  }
  if (seconds > MAX_HOLD_TIME_SECONDS) {
    throw new MetallbError('CONFIG_INVALID', `hold time must be at most ${MAX_HOLD_TIME_SECONDS}s`);
  }
  return seconds;
}

/** Keepalive defaults to a third of the hold time (RFC 4271's suggestion, and MetalLB's default). */
function keepaliveSeconds(field: Field | undefined, hold: number | undefined): number | undefined {
  if (field === undefined) return (hold ?? 0) / 3;
  return field.parse((text) => {
    const seconds = parseDurationMs(text) / 1000;
    if (seconds < 0) throw new MetallbError('CONFIG_INVALID', 'keepalive time must not be negative');
    if (hold !== undefined && seconds > hold) {
      throw new MetallbError('CONFIG_INVALID', `keepalive time is longer than the hold time (${hold}s)`);
    }
    // MetalLB accepts this, and the session then expires after one hold time.
    if (seconds === 0 && hold !== undefined && hold > 0) {
      throw new MetallbError('CONFIG_INVALID', 'keepalive time must not be 0 unless the hold time is 0');
    }
    return seconds;
  });
}

function parseAddress(field: Field | undefined): IpAddress | undefined {
  return field?.parse(parseIp);
}

function parsePeer(field: Field, bfdProfiles: ReadonlySet<string>): Peer | undefined {
  const reader = field.object(PEER_KEYS);
  if (reader === undefined) return undefined;
  const peerAddress = parseAddress(reader.required('peer-address'));
  const peerAsn = parseAsn(reader, 'peer-asn');
  const myAsn = parseAsn(reader, 'my-asn');

  const sourceField = reader.field('source-address');
  const sourceAddress = parseAddress(sourceField);
  if (
    sourceAddress !== undefined &&
    peerAddress !== undefined &&
    sourceAddress.family !== peerAddress.family
  ) {
    sourceField?.report(
      'CONFIG_INVALID',
      `source-address is IPv${sourceAddress.family}, peer-address IPv${peerAddress.family}`,
    );
  }

  const routerIdField = reader.field('router-id');
  let routerId = parseAddress(routerIdField);
  if (routerId?.family === 6) {
    // The BGP identifier is 32 bits; Go's net.ParseIP would take an IPv6 address here.
    routerId = routerIdField?.report('CONFIG_INVALID', 'router-id must be an IPv4 address');
  }

  const holdField = reader.field('hold-time');
  const hold = holdField === undefined ? DEFAULT_HOLD_TIME_SECONDS : holdField.parse(holdTimeSeconds);
  const keepalive = keepaliveSeconds(reader.field('keepalive-time'), hold);

  const ebgpMultihop = reader.boolean('ebgp-multihop', false);
  if (ebgpMultihop && peerAsn !== undefined && peerAsn === myAsn) {
    reader
      .field('ebgp-multihop')
      ?.report('CONFIG_INVALID', 'ebgp-multihop is for eBGP, but peer-asn equals my-asn');
  }

  const passwordField = reader.field('password');
  const password = passwordField?.string() || undefined;
  if (password !== undefined && Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    passwordField?.report(
      'CONFIG_INVALID',
      `password is longer than ${MAX_PASSWORD_BYTES} bytes, the TCP MD5 key limit`,
    );
  }

  const bfdField = reader.field('bfd-profile');
  const bfdProfile = bfdField?.string() || undefined;
  if (bfdProfile !== undefined && !bfdProfiles.has(bfdProfile)) {
    bfdField?.report('CONFIG_REFERENCE', `no bfd profile named "${bfdProfile}" in bfd-profiles`);
  }

  const peerPort = reader.integer('peer-port', 1, 0xffff, BGP_PORT);
  const nodeSelectors = reader.list('node-selectors').map(parseNodeSelector);
  if (peerAddress === undefined || peerAsn === undefined || myAsn === undefined || keepalive === undefined) {
    return undefined;
  }
  return {
    peerAddress,
    peerAsn,
    myAsn,
    peerPort,
    sourceAddress,
    holdTimeSeconds: hold ?? DEFAULT_HOLD_TIME_SECONDS,
    keepaliveTimeSeconds: keepalive,
    routerId,
    nodeSelectors: nodeSelectors.filter((selector) => selector !== undefined),
    password,
    ebgpMultihop,
    bfdProfile,
  };
}

/**
 * Parses `peers[]`. Two peers with the same address, port and node selectors are refused: every
 * node they select would open two sessions to one router endpoint, and the router keeps only one.
 * Different selectors may legitimately pick disjoint node groups (one peer per rack), so they are
 * allowed. MetalLB refuses only peers that are equal in every field.
 */
export function parsePeers(fields: readonly Field[], bfdProfiles: ReadonlySet<string>): Peer[] {
  const peers: Peer[] = [];
  const firstByKey = new Map<string, Field>();
  for (const field of fields) {
    const peer = parsePeer(field, bfdProfiles);
    if (peer === undefined) continue;
    const key = `${formatIp(peer.peerAddress)} ${peer.peerPort} ${selectorsKey(peer.nodeSelectors)}`;
    const first = firstByKey.get(key);
    if (first !== undefined) {
      field.report('CONFIG_DUPLICATE', `same peer-address, peer-port and node-selectors as ${first.path}`);
      continue;
    }
    firstByKey.set(key, field);
    peers.push(peer);
  }
  return peers;
}

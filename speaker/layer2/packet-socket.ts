/**
 * Typed face of the AF_PACKET addon (native/packet_socket.cc): whole Ethernet frames in and out on
 * one interface for one ethertype, delivered as callbacks on the event loop. The addon is loaded on
 * first use, so code that only imports this module (or the codecs beside it) runs without it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MetallbError } from '../../shared/errors.ts';
import { isMulticastMac, MAC_LENGTH } from './mac.ts';

const ADDON_PATH = fileURLToPath(new URL('../../native/build/Release/packet_socket.node', import.meta.url));

/**
 * Kernel-side filters (classic BPF) so only what the announcer answers is ever copied to us:
 * - 'arp': ARP requests;
 * - 'ndp-ns': IPv6 packets whose next header is ICMPv6 with type 135 (Neighbor Solicitation).
 * With or without a filter, a socket never delivers our own transmissions (PACKET_OUTGOING) nor
 * frames not addressed to this host (PACKET_OTHERHOST): unicast to other MACs seen in promiscuous
 * mode, and frames tagged for a VLAN this host has no device for. Linux strips the tag before a
 * socket bound to one ethertype sees the bytes, so that mark is all that tells them apart.
 */
export type PacketFilter = 'arp' | 'ndp-ns';

export interface PacketSocketOptions {
  /** Interface index (`ip -j link`'s ifindex). */
  readonly ifindex: number;
  /** The ethertype to receive (0x0806 for ARP, 0x86dd for IPv6); frames sent may carry any. */
  readonly ethertype: number;
  readonly filter?: PacketFilter;
  /**
   * Receive-side errors, such as ENETDOWN when the interface goes down. The socket stays open and
   * resumes by itself when the interface comes back; without a handler they are only counted.
   */
  readonly onError?: (error: PacketSocketError) => void;
}

export interface PacketSocketCounters {
  /** Frames handed to onFrame. */
  readonly received: number;
  readonly sent: number;
  /** Frames over the size bound, plus those the kernel dropped because our queue was full. */
  readonly dropped: number;
  /** Receive errors (see onError). */
  readonly errors: number;
}

export interface PacketSocket {
  /** Sends one whole frame (Ethernet header included). Throws PacketSocketError, e.g. ENETDOWN. */
  send(frame: Buffer): void;
  /**
   * Makes the NIC accept frames for a multicast MAC (PACKET_MR_MULTICAST), e.g. a solicited-node
   * group's 33:33:ff:xx:xx:xx. Counted per socket: each add needs its own drop; close drops all;
   * dropping a MAC never added does nothing.
   */
  addMulticast(mac: Buffer): void;
  dropMulticast(mac: Buffer): void;
  /** Stops delivery and releases the socket; it no longer keeps the process alive. Idempotent. */
  close(): void;
  readonly closed: boolean;
  readonly counters: PacketSocketCounters;
}

/** A failed system call, with the errno name (`ENETDOWN`, `EPERM`, ...) to branch on. */
export class PacketSocketError extends MetallbError {
  readonly syscall: string;
  readonly systemCode: string;

  constructor(syscall: string, systemCode: string, message: string) {
    super('PACKET_SOCKET_SYSCALL', message);
    this.name = 'PacketSocketError';
    this.syscall = syscall;
    this.systemCode = systemCode;
  }
}

/**
 * Opens a raw packet socket bound to `ifindex` and `ethertype`, and calls `onFrame` with each frame
 * received (a fresh Buffer the callee may keep). Frames are whole, starting at the Ethernet header.
 * Needs CAP_NET_RAW.
 */
export function openPacketSocket(
  options: PacketSocketOptions,
  onFrame: (frame: Buffer) => void,
): PacketSocket {
  const { ifindex, ethertype, filter, onError } = options;
  if (!Number.isInteger(ifindex) || ifindex <= 0 || ifindex > 0x7fffffff) {
    throw new MetallbError(
      'PACKET_SOCKET_ARGUMENT',
      `ifindex ${ifindex} is not a positive integer`,
      'ifindex',
    );
  }
  if (!Number.isInteger(ethertype) || ethertype < 0 || ethertype > 0xffff) {
    throw new MetallbError(
      'PACKET_SOCKET_ARGUMENT',
      `ethertype ${ethertype} is not a 16-bit value`,
      'ethertype',
    );
  }
  if (filter !== undefined && filter !== 'arp' && filter !== 'ndp-ns') {
    throw new MetallbError('PACKET_SOCKET_ARGUMENT', `unknown filter ${String(filter)}`, 'filter');
  }
  const { PacketSocket: NativePacketSocket } = loadAddon();
  const native = nativeCall(
    () =>
      new NativePacketSocket(ifindex, ethertype, filter ?? '', onFrame, (error) => {
        const typed = fromNative(error);
        if (typed instanceof PacketSocketError) onError?.(typed);
      }),
  );
  let closed = false;
  const whileOpen = (): void => {
    if (closed) throw new MetallbError('PACKET_SOCKET_CLOSED', 'the packet socket is closed');
  };
  const multicast = (mac: Buffer): Buffer => {
    if (!isMulticastMac(mac)) {
      throw new MetallbError('PACKET_SOCKET_ARGUMENT', `expected a ${MAC_LENGTH}-byte multicast MAC`, 'mac');
    }
    return mac;
  };
  return {
    send(frame) {
      whileOpen();
      nativeCall(() => native.send(frame));
    },
    addMulticast(mac) {
      whileOpen();
      nativeCall(() => native.addMulticast(multicast(mac)));
    },
    dropMulticast(mac) {
      whileOpen();
      nativeCall(() => native.dropMulticast(multicast(mac)));
    },
    close() {
      closed = true;
      native.close();
    },
    get closed() {
      return closed;
    },
    get counters() {
      return native.counters();
    },
  };
}

interface NativeSocket {
  send(frame: Buffer): void;
  addMulticast(mac: Buffer): void;
  dropMulticast(mac: Buffer): void;
  close(): void;
  counters(): PacketSocketCounters;
}

interface Addon {
  PacketSocket: new (
    ifindex: number,
    ethertype: number,
    filter: PacketFilter | '',
    onFrame: (frame: Buffer) => void,
    onError: (error: unknown) => void,
  ) => NativeSocket;
}

let addon: Addon | undefined;

function loadAddon(): Addon {
  if (addon) return addon;
  if (!existsSync(ADDON_PATH)) {
    throw new MetallbError(
      'PACKET_SOCKET_ADDON_MISSING',
      `the AF_PACKET addon is not built (${ADDON_PATH} is missing): run \`npm run build:native\` or scripts/setup.sh`,
    );
  }
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as Addon;
  } catch (error) {
    // Typically built for another Node ABI: rebuilding fixes it.
    throw new MetallbError(
      'PACKET_SOCKET_ADDON_MISSING',
      `cannot load ${ADDON_PATH} (${String(error)}): run \`npm run build:native\``,
    );
  }
  return addon;
}

/** Runs a native call, turning what the addon throws into our typed errors. */
function nativeCall<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof MetallbError) throw error;
    throw fromNative(error);
  }
}

/** The addon's errors carry `syscall` and `code` when a system call failed; others are misuse. */
function fromNative(error: unknown): MetallbError {
  const fields = (error ?? {}) as { code?: unknown; syscall?: unknown; message?: unknown };
  const message = typeof fields.message === 'string' ? fields.message : String(error);
  if (typeof fields.syscall !== 'string') return new MetallbError('PACKET_SOCKET_ARGUMENT', message);
  const code = typeof fields.code === 'string' ? fields.code : 'UNKNOWN';
  return new PacketSocketError(fields.syscall, code, `${message} (${code})`);
}

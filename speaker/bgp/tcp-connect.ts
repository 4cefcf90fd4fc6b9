/**
 * Outgoing TCP connections for BGP sessions. Node cannot set TCP_MD5SIG (RFC 2385, MetalLB's peer
 * `password`) nor the TTL / hop limit of a TCP socket, so when either is asked for, the socket is
 * made, configured and connected by the native addon (native/tcp_socket.cc, non-blocking, driven
 * by the event loop) and the connected descriptor is wrapped in a net.Socket. Without them, plain
 * net.connect does the same job and the addon is not needed.
 *
 * We only ever connect (active open): the speaker never listens on port 179, so there is no
 * connection collision to resolve (RFC 4271 §6.8), and nothing on the node answers a router's SYN.
 */
import { closeSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const ADDON_PATH = fileURLToPath(new URL('../../native/build/Release/packet_socket.node', import.meta.url));

export const BGP_PORT = 179;
/**
 * A LAN router answers a SYN within a millisecond; 5 s leaves room for two SYN retransmissions
 * (sent after 1 s and 3 s) before the attempt is abandoned and the caller's backoff takes over,
 * instead of the kernel's own two minutes of retries against a silent address.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface BgpTcpOptions {
  /** The peer's numeric IP address (IPv6 link-local with `%zone`). */
  readonly host: string;
  /** Default 179. */
  readonly port?: number;
  /** Source address (MetalLB's `source-address`); of the peer's family. */
  readonly localAddress?: string;
  /** TCP MD5 signature key, 1-80 bytes (needs the native addon). */
  readonly md5Password?: string;
  /** Unicast TTL / IPv6 hop limit of our segments, 1-255 (needs the native addon). */
  readonly ttl?: number;
  /** Default DEFAULT_CONNECT_TIMEOUT_MS; the attempt then fails with ETIMEDOUT. */
  readonly timeoutMs?: number;
  /** Aborting fails the attempt with ECANCELED and releases the socket. */
  readonly signal?: AbortSignal;
}

/**
 * Why a connection could not be made. `code` is the errno name, as on Node's own system errors:
 * ECONNREFUSED (nothing listens: a router not configured for us, or restarting), ETIMEDOUT (no
 * answer within timeoutMs), EHOSTUNREACH / ENETUNREACH (no route or no neighbour), EADDRNOTAVAIL
 * (localAddress is not ours), ECANCELED (aborted); ADDON_MISSING when MD5 or TTL was asked for and
 * the native addon is not built; EINVAL for bad options.
 */
export class BgpConnectError extends Error {
  readonly code: string;
  readonly syscall: string;

  constructor(code: string, syscall: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BgpConnectError';
    this.code = code;
    this.syscall = syscall;
  }
}

/** Connects to a BGP peer; resolves with a connected socket (TCP_NODELAY set) or rejects with BgpConnectError. */
export function connectBgpTcp(options: BgpTcpOptions): Promise<net.Socket> {
  const { host, md5Password, ttl, localAddress } = options;
  const port = options.port ?? BGP_PORT;
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const where = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  if (net.isIP(host.split('%')[0] ?? '') === 0) {
    return Promise.reject(new BgpConnectError('EINVAL', 'connect', `${host} is not an IP address`));
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return Promise.reject(new BgpConnectError('EINVAL', 'connect', `port ${port} is not 1-65535`));
  }
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > 255)) {
    return Promise.reject(new BgpConnectError('EINVAL', 'connect', `ttl ${ttl} is not 1-255`));
  }
  if (md5Password !== undefined) {
    const length = Buffer.byteLength(md5Password);
    if (length < 1 || length > 80) {
      return Promise.reject(
        new BgpConnectError('EINVAL', 'connect', `an MD5 password must be 1-80 bytes, not ${length}`),
      );
    }
  }
  if (options.signal?.aborted) {
    return Promise.reject(new BgpConnectError('ECANCELED', 'connect', `connect to ${where} aborted`));
  }
  return md5Password !== undefined || ttl !== undefined
    ? connectNative(options, port, timeoutMs, where)
    : connectPlain(host, port, localAddress, timeoutMs, options.signal, where);
}

function connectPlain(
  host: string,
  port: number,
  localAddress: string | undefined,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  where: string,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    const settle = (error: BgpConnectError | undefined): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('connect', onConnect);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        socket.setNoDelay(true);
        resolve(socket);
      }
    };
    const onConnect = (): void => settle(undefined);
    const onError = (error: Error): void => settle(fromSystemError(error, where));
    const onAbort = (): void =>
      settle(new BgpConnectError('ECANCELED', 'connect', `connect to ${where} aborted`));
    const timer = setTimeout(
      () =>
        settle(
          new BgpConnectError('ETIMEDOUT', 'connect', `connect to ${where} timed out after ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function connectNative(
  options: BgpTcpOptions,
  port: number,
  timeoutMs: number,
  where: string,
): Promise<net.Socket> {
  let addon: Addon;
  try {
    addon = loadAddon();
  } catch (error) {
    return Promise.reject(error as Error);
  }
  const { signal } = options;
  return new Promise((resolve, reject) => {
    let pending: NativeConnect | undefined;
    let settled = false;
    const settle = (result: BgpConnectError | net.Socket): void => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (result instanceof net.Socket) resolve(result);
      else reject(result);
    };
    const giveUp = (error: BgpConnectError): void => {
      pending?.cancel();
      settle(error);
    };
    const onAbort = (): void =>
      giveUp(new BgpConnectError('ECANCELED', 'connect', `connect to ${where} aborted`));
    const timer = setTimeout(
      () =>
        giveUp(
          new BgpConnectError('ETIMEDOUT', 'connect', `connect to ${where} timed out after ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      pending = new addon.TcpConnect(
        {
          host: options.host,
          port,
          ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
          ...(options.md5Password !== undefined ? { md5Password: options.md5Password } : {}),
          ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
        },
        (error, fd) => {
          if (settled) {
            // Cannot happen (cancel() silences the callback); never leak a descriptor regardless.
            if (fd !== undefined) closeSync(fd);
            return;
          }
          if (error !== null || fd === undefined) {
            settle(fromSystemError(error, where));
            return;
          }
          // Node owns the descriptor from here on: destroying the socket closes it.
          const socket = new net.Socket({ fd, readable: true, writable: true });
          socket.setNoDelay(true);
          settle(socket);
        },
      );
    } catch (error) {
      settle(fromSystemError(error, where));
    }
  });
}

interface NativeConnect {
  cancel(): void;
}

interface Addon {
  TcpConnect: new (
    options: {
      host: string;
      port: number;
      localAddress?: string;
      md5Password?: string;
      ttl?: number;
    },
    onDone: (error: unknown, fd: number | undefined) => void,
  ) => NativeConnect;
}

let addon: Addon | undefined;

function loadAddon(): Addon {
  if (addon) return addon;
  const missing = (detail: string): BgpConnectError =>
    new BgpConnectError(
      'ADDON_MISSING',
      'load',
      `TCP MD5 signatures and TTL need the native addon (${detail}): run \`npm run build:native\``,
    );
  if (!existsSync(ADDON_PATH)) throw missing(`${ADDON_PATH} is missing`);
  let loaded: Partial<Addon>;
  try {
    loaded = createRequire(import.meta.url)(ADDON_PATH) as Partial<Addon>;
  } catch (error) {
    // Typically built for another Node ABI: rebuilding fixes it.
    throw missing(`cannot load ${ADDON_PATH}: ${String(error)}`);
  }
  // An addon built before tcp_socket.cc was added.
  if (typeof loaded.TcpConnect !== 'function') throw missing(`${ADDON_PATH} predates TCP support`);
  addon = loaded as Addon;
  return addon;
}

/** Node's system errors and the addon's both carry `code` (the errno name) and `syscall`. */
function fromSystemError(error: unknown, where: string): BgpConnectError {
  const fields = (error ?? {}) as { code?: unknown; syscall?: unknown; message?: unknown };
  const code = typeof fields.code === 'string' ? fields.code : 'EINVAL';
  const syscall = typeof fields.syscall === 'string' ? fields.syscall : 'connect';
  const message = typeof fields.message === 'string' ? fields.message : String(error);
  return new BgpConnectError(code, syscall, `connect to ${where}: ${message}`, { cause: error });
}

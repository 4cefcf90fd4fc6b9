/**
 * Typed errors with stable codes. Callers branch on `code`, never on message text, so messages
 * may be improved without breaking anyone; `path` names the offending field of the input.
 */
export type ErrorCode =
  // Configuration (ConfigMap `config`)
  | 'CONFIG_YAML'
  | 'CONFIG_UNKNOWN_KEY'
  | 'CONFIG_TYPE'
  | 'CONFIG_REQUIRED'
  | 'CONFIG_INVALID'
  | 'CONFIG_DUPLICATE'
  | 'CONFIG_OVERLAP'
  | 'CONFIG_REFERENCE'
  | 'CONFIG_IN_USE'
  // IP parsing
  | 'IP_INVALID'
  | 'IP_RANGE_INVALID'
  // Allocation
  | 'ALLOC_POOL_EXHAUSTED'
  | 'ALLOC_UNKNOWN_POOL'
  | 'ALLOC_IP_NOT_IN_POOL'
  | 'ALLOC_IP_IN_USE'
  | 'ALLOC_SHARING_REFUSED'
  | 'ALLOC_FAMILY_UNAVAILABLE'
  | 'ALLOC_BAD_REQUEST'
  | 'ALLOC_BUGGY_IP'
  // Service annotations and spec
  | 'SERVICE_INVALID'
  // Frames (layer-2 wire codecs): decoding never fails any other way, whatever the bytes
  | 'FRAME_TRUNCATED'
  | 'FRAME_NOT_ETHERNET_II'
  | 'FRAME_VLAN_TAGGED'
  | 'FRAME_NOT_ARP'
  | 'FRAME_NOT_IPV6'
  | 'FRAME_INVALID_FIELD'
  | 'MAC_INVALID'
  | 'ARP_UNSUPPORTED'
  | 'ARP_BAD_OPERATION'
  | 'NDP_NOT_ICMPV6'
  | 'NDP_WRONG_TYPE'
  | 'NDP_BAD_HOP_LIMIT'
  | 'NDP_BAD_CODE'
  | 'NDP_BAD_LENGTH'
  | 'NDP_BAD_CHECKSUM'
  | 'NDP_BAD_TARGET'
  | 'NDP_BAD_OPTION'
  | 'NDP_BAD_SOURCE'
  | 'NDP_BAD_DAD'
  | 'NDP_BAD_FLAGS'
  // Packet sockets (native AF_PACKET addon)
  | 'PACKET_SOCKET_ADDON_MISSING'
  | 'PACKET_SOCKET_SYSCALL'
  | 'PACKET_SOCKET_CLOSED'
  | 'PACKET_SOCKET_ARGUMENT'
  // Membership (speaker/membership): packet decoding and configuration
  | 'MEMBERSHIP_TRUNCATED'
  | 'MEMBERSHIP_VERSION'
  | 'MEMBERSHIP_UNKNOWN_TYPE'
  | 'MEMBERSHIP_INVALID_FIELD'
  | 'MEMBERSHIP_TRAILING_BYTES'
  | 'MEMBERSHIP_TOO_LARGE'
  | 'MEMBERSHIP_CONFIG'
  // BGP (speaker/bgp/wire): one code per NOTIFICATION error code (RFC 4271 §4.5, RFC 7313), the
  // subcode and data ride on BgpWireError; plus bad arguments to an encoder (our bug, never the peer's)
  | 'BGP_MESSAGE_HEADER_ERROR'
  | 'BGP_OPEN_MESSAGE_ERROR'
  | 'BGP_UPDATE_MESSAGE_ERROR'
  | 'BGP_HOLD_TIMER_EXPIRED'
  | 'BGP_FSM_ERROR'
  | 'BGP_CEASE'
  | 'BGP_ROUTE_REFRESH_ERROR'
  | 'BGP_ENCODE_INVALID'
  // Node proxy (speaker/proxy): a bad target handed to it (our bug), or nftables refusing the work
  | 'PROXY_INVALID'
  | 'NFT_NOT_FOUND'
  | 'NFT_FAILED';

export class MetallbError extends Error {
  readonly code: ErrorCode;
  /** Dotted location of the bad input, e.g. `address-pools[1].addresses[0]`; empty when not applicable. */
  readonly path: string;

  constructor(code: ErrorCode, message: string, path = '') {
    super(path ? `${path}: ${message}` : message);
    this.name = 'MetallbError';
    this.code = code;
    this.path = path;
  }
}

/** Raised by the config parser with every problem found, so a user fixes them all in one pass. */
export class ConfigErrors extends Error {
  readonly code = 'CONFIG_INVALID_DOCUMENT' as const;
  readonly errors: readonly MetallbError[];

  constructor(errors: readonly MetallbError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'ConfigErrors';
    this.errors = errors;
  }
}

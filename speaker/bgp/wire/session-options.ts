/**
 * What the two OPENs negotiated that changes how bytes are read and written. Passed explicitly to
 * every codec that depends on it, so a codec is a function of its arguments and never of a session.
 */
export interface SessionOptions {
  /**
   * Both sides sent the 4-octet AS capability (RFC 6793 §3): AS numbers in AS_PATH and AGGREGATOR
   * take 4 octets instead of 2.
   */
  readonly fourOctetAs: boolean;
}

/**
 * ROUTE-REFRESH (RFC 2918 §3): a peer asks us to send our routes of one AFI/SAFI again. We answer
 * by re-sending our table for that family; requests for families we do not speak are ignored (§4).
 */
import { allocMessage, badLength, HEADER_LENGTH, MESSAGE_TYPE } from './header.ts';
import { requireUint, UINT16_MAX, UINT8_MAX } from './encode-checks.ts';
import { messageBody } from './message-body.ts';

const BODY_LENGTH = 4;
const OFFSET = { afi: 0, subtype: 2, safi: 3 } as const;

export interface RouteRefresh {
  readonly type: 'routeRefresh';
  readonly afi: number;
  readonly safi: number;
  /**
   * RFC 2918's Reserved octet, which Enhanced Route Refresh (RFC 7313 §3.2) made the Message Subtype:
   * 0 a normal request, 1 Beginning and 2 End of Route Refresh. Kept so nothing is lost.
   */
  readonly subtype: number;
}

/**
 * Exactly 23 bytes. A longer message would carry Outbound Route Filter entries (RFC 5291), which we
 * never negotiate; any other length is refused as Bad Message Length (RFC 4271 §6.1) rather than with
 * RFC 7313's ROUTE-REFRESH Message Error, which a peer without Enhanced Route Refresh may not know.
 */
export function decodeRouteRefresh(message: Buffer): RouteRefresh {
  const body = messageBody(message, 'ROUTE_REFRESH');
  if (body.length !== BODY_LENGTH) {
    throw badLength(
      message.length,
      `a ROUTE-REFRESH is ${HEADER_LENGTH + BODY_LENGTH} bytes, got ${message.length}`,
    );
  }
  return {
    type: 'routeRefresh',
    afi: body.readUInt16BE(OFFSET.afi),
    safi: body[OFFSET.safi]!,
    subtype: body[OFFSET.subtype]!,
  };
}

export function encodeRouteRefresh(refresh: RouteRefresh): Buffer {
  requireUint(refresh.afi, UINT16_MAX, 'routeRefresh.afi');
  requireUint(refresh.safi, UINT8_MAX, 'routeRefresh.safi');
  requireUint(refresh.subtype, UINT8_MAX, 'routeRefresh.subtype');
  const message = allocMessage(MESSAGE_TYPE.ROUTE_REFRESH, BODY_LENGTH);
  const body = message.subarray(HEADER_LENGTH);
  body.writeUInt16BE(refresh.afi, OFFSET.afi);
  body[OFFSET.subtype] = refresh.subtype;
  body[OFFSET.safi] = refresh.safi;
  return message;
}

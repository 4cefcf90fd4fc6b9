/**
 * Any BGP message, decoded by its header's type (RFC 4271 §4.1, RFC 2918 §3). The entry point for
 * the session: MessageReader (stream.ts) cuts the byte stream into messages, decodeMessage turns each
 * into an object, and every failure is a BgpWireError carrying the NOTIFICATION to send.
 */
import { BgpWireError, ERROR_CODE, HEADER_SUBCODE } from './errors.ts';
import { badLength, decodeHeader, MESSAGE_TYPE } from './header.ts';
import { decodeKeepalive, encodeKeepalive, type Keepalive } from './keepalive.ts';
import { decodeNotification, encodeNotification, type Notification } from './notification.ts';
import { decodeOpen, encodeOpen, type Open } from './open.ts';
import { decodeRouteRefresh, encodeRouteRefresh, type RouteRefresh } from './route-refresh.ts';
import type { SessionOptions } from './session-options.ts';
import { decodeUpdate, encodeUpdate, type Update } from './update.ts';

export type BgpMessage = Open | Update | Notification | Keepalive | RouteRefresh;

/**
 * Decodes exactly one message: `message` must be the whole of it, as MessageReader delivers. Before
 * the OPENs are exchanged, pass `{ fourOctetAs: false }`: only UPDATEs depend on the options.
 */
export function decodeMessage(message: Buffer, options: SessionOptions): BgpMessage {
  const header = decodeHeader(message);
  if (header.length !== message.length) {
    throw badLength(
      header.length,
      `the header says ${header.length} bytes, the message is ${message.length}`,
    );
  }
  switch (header.type) {
    case MESSAGE_TYPE.OPEN:
      return decodeOpen(message);
    case MESSAGE_TYPE.UPDATE:
      return decodeUpdate(message, options);
    case MESSAGE_TYPE.NOTIFICATION:
      return decodeNotification(message);
    case MESSAGE_TYPE.KEEPALIVE:
      return decodeKeepalive(message);
    case MESSAGE_TYPE.ROUTE_REFRESH:
      return decodeRouteRefresh(message);
    default:
      // §6.1 Bad Message Type, the type octet as data.
      throw new BgpWireError(
        ERROR_CODE.MESSAGE_HEADER,
        HEADER_SUBCODE.BAD_MESSAGE_TYPE,
        `unknown message type ${header.type}`,
        { data: Buffer.from([header.type]), path: 'header.type' },
      );
  }
}

export function encodeMessage(message: BgpMessage, options: SessionOptions): Buffer {
  switch (message.type) {
    case 'open':
      return encodeOpen(message);
    case 'update':
      return encodeUpdate(message, options);
    case 'notification':
      return encodeNotification(message);
    case 'keepalive':
      return encodeKeepalive(message);
    case 'routeRefresh':
      return encodeRouteRefresh(message);
  }
}

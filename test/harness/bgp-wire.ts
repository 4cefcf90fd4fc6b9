/**
 * Assertions for the BGP wire codecs: the error a decoder throws must carry the exact NOTIFICATION
 * (code, subcode, data) and RFC 7606 handling, and a BGP message is built from commented hex of its
 * body so that only the interesting bytes are spelled out.
 */
import assert from 'node:assert/strict';
import { BgpWireError, type ErrorHandling } from '../../speaker/bgp/wire/errors.ts';

export interface ExpectedBgpError {
  readonly code: number;
  readonly subcode: number;
  /** Hex of the NOTIFICATION data; checked when given. */
  readonly data?: string;
  readonly handling?: ErrorHandling;
  readonly path?: string;
}

export function throwsBgp(fn: () => unknown, expected: ExpectedBgpError): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof BgpWireError, `expected a BgpWireError, got ${String(caught)}`);
  const error = caught;
  assert.deepEqual(
    [error.errorCode, error.errorSubcode],
    [expected.code, expected.subcode],
    `wrong code/subcode: ${error.message}`,
  );
  if (expected.data !== undefined) assert.equal(error.data.toString('hex'), expected.data, error.message);
  if (expected.handling !== undefined) assert.equal(error.errorHandling, expected.handling, error.message);
  if (expected.path !== undefined) assert.equal(error.path, expected.path, error.message);
}

/** A whole message: marker, length computed from the body, type, body. */
export function bgpMessage(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(19, 0xff);
  header.writeUInt16BE(19 + body.length, 16);
  header[18] = type;
  return Buffer.concat([header, body]);
}

/** An UPDATE from its three fields, lengths computed. */
export function updateMessage(fields: { withdrawn?: Buffer; attributes?: Buffer; nlri?: Buffer }): Buffer {
  const withdrawn = fields.withdrawn ?? Buffer.alloc(0);
  const attributes = fields.attributes ?? Buffer.alloc(0);
  const lengths = Buffer.alloc(4);
  lengths.writeUInt16BE(withdrawn.length, 0);
  const attributeLength = Buffer.alloc(2);
  attributeLength.writeUInt16BE(attributes.length, 0);
  return bgpMessage(
    2,
    Buffer.concat([
      lengths.subarray(0, 2),
      withdrawn,
      attributeLength,
      attributes,
      fields.nlri ?? Buffer.alloc(0),
    ]),
  );
}

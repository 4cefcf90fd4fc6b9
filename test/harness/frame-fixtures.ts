/**
 * The three checks every byte fixture of the layer-2 codecs gets (the mqtt-packet style): the bytes
 * decode to the object, the object encodes to the bytes, and the object survives a round trip.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { MetallbError, type ErrorCode } from '../../shared/errors.ts';

export interface Codec<T> {
  decode(frame: Buffer): T;
  encode(value: T): Buffer;
}

export interface Fixture<T> {
  readonly object: T;
  /** What encode(object) produces. */
  readonly bytes: Buffer;
  /**
   * What was received, when it differs from `bytes` in ways decoding drops: Ethernet padding, or a
   * flow label. Defaults to `bytes`.
   */
  readonly wire?: Buffer;
}

export function testFixture<T>(name: string, codec: Codec<T>, fixture: Fixture<T>): void {
  it(`${name}: decodes`, () => assert.deepEqual(codec.decode(fixture.wire ?? fixture.bytes), fixture.object));
  it(`${name}: encodes`, () =>
    assert.equal(codec.encode(fixture.object).toString('hex'), fixture.bytes.toString('hex')));
  it(`${name}: round trips`, () =>
    assert.deepEqual(codec.decode(codec.encode(fixture.object)), fixture.object));
}

/** Asserts `fn` throws our typed error with `code` (and `path`, when given). */
export function throwsCode(fn: () => unknown, code: ErrorCode, path?: string): void {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof MetallbError, `expected a MetallbError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (path !== undefined) assert.equal(error.path, path);
    return true;
  });
}

/** `bytes` followed by zeros up to `length`: the Ethernet padding our encoders add (RFC 894). */
export function padded(bytes: Buffer, length = 60): Buffer {
  return Buffer.concat([bytes, Buffer.alloc(Math.max(0, length - bytes.length))]);
}

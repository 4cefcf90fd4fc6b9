import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MetallbError } from '../../shared/errors.ts';
import { canonicalIp, formatIp, maskIp, parseIp, sameIp, type IpAddress } from '../../shared/ip/address.ts';
import {
  coveringPrefixLength,
  formatRange,
  parsePoolAddresses,
  rangeContains,
  rangeSize,
  rangesOverlap,
} from '../../shared/ip/range.ts';

function v4(text: string): IpAddress {
  const ip = parseIp(text);
  assert.equal(ip.family, 4);
  return ip;
}

function throwsMetallb(fn: () => unknown, code: string, message: string): void {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof MetallbError);
    assert.equal(error.code, code);
    assert.equal(error.message, message);
    return true;
  });
}

describe('parseIp', () => {
  const valid: [string, 4 | 6, bigint][] = [
    ['0.0.0.0', 4, 0n],
    ['192.168.1.1', 4, 0xc0a80101n],
    ['255.255.255.255', 4, 0xffffffffn],
    [' 10.0.0.1 ', 4, 0x0a000001n],
    ['::', 6, 0n],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n],
    ['::ffff:1.2.3.4', 6, 0xffff01020304n],
  ];
  for (const [text, family, value] of valid) {
    it(`parses ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseIp(text), { family, value });
    });
  }

  const invalid: [string, string][] = [
    ['010.0.0.1', 'invalid IPv4 address 010.0.0.1'], // leading zero: octal in some parsers
    ['1.2.3.256', 'invalid IPv4 address 1.2.3.256'],
    ['1.2.3', 'invalid IPv4 address 1.2.3'],
    ['1.2.3.4.5', 'invalid IPv4 address 1.2.3.4.5'],
    ['1.2.3.4/32', 'invalid IPv4 address 1.2.3.4/32'],
    ['', 'invalid IPv4 address '],
    ['2001:db8::/64', 'invalid IPv6 address 2001:db8::/64'],
    ['fe80::1%eth0', 'invalid IPv6 address fe80::1%eth0'],
    ['2001:db8::g', 'invalid IPv6 address 2001:db8::g'],
    ['1:2:3:4:5:6:7:8:9', 'invalid IPv6 address 1:2:3:4:5:6:7:8:9'],
  ];
  for (const [text, message] of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => throwsMetallb(() => parseIp(text), 'IP_INVALID', message));
  }
});

describe('formatIp and friends', () => {
  const canonical: [string, string][] = [
    ['10.0.0.1', '10.0.0.1'],
    ['2001:DB8:0:0:0:0:0:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:0:0:0:0:0:0', '::'],
  ];
  for (const [text, expected] of canonical) {
    it(`formats ${text} as ${expected}`, () => {
      assert.equal(canonicalIp(text), expected);
      assert.equal(formatIp(parseIp(text)), expected);
    });
  }

  it('compares addresses by family and value', () => {
    assert.ok(sameIp(parseIp('2001:db8::1'), parseIp('2001:DB8::0001')));
    assert.ok(!sameIp(parseIp('0.0.0.1'), parseIp('::1')));
  });

  it('masks host bits', () => {
    assert.equal(formatIp(maskIp(v4('192.168.1.77'), 26)), '192.168.1.64');
    assert.equal(formatIp(maskIp(parseIp('2001:db8::ffff'), 112)), '2001:db8::');
  });
});

describe('parsePoolAddresses', () => {
  const valid: [string, string, string, bigint][] = [
    ['192.168.1.0/28', '192.168.1.0', '192.168.1.15', 16n],
    ['192.168.1.7/28', '192.168.1.0', '192.168.1.15', 16n], // host bits dropped, as Go's ParseCIDR
    ['10.0.0.1/32', '10.0.0.1', '10.0.0.1', 1n],
    ['0.0.0.0/0', '0.0.0.0', '255.255.255.255', 1n << 32n],
    ['192.168.1.251-192.168.1.253', '192.168.1.251', '192.168.1.253', 3n],
    ['10.0.0.5 - 10.0.0.5', '10.0.0.5', '10.0.0.5', 1n],
    ['2001:db8::/64', '2001:db8::', '2001:db8::ffff:ffff:ffff:ffff', 1n << 64n],
    ['2001:db8::1-2001:db8::10', '2001:db8::1', '2001:db8::10', 16n],
  ];
  for (const [text, first, last, size] of valid) {
    it(`parses ${text}`, () => {
      const range = parsePoolAddresses(text);
      assert.equal(formatIp({ family: range.family, value: range.first }), first);
      assert.equal(formatIp({ family: range.family, value: range.last }), last);
      assert.equal(rangeSize(range), size);
    });
  }

  const invalid: [string, string, string][] = [
    ['1.2.3.4/33', 'IP_RANGE_INVALID', 'invalid prefix length /33 for IPv4'],
    ['2001:db8::/129', 'IP_RANGE_INVALID', 'invalid prefix length /129 for IPv6'],
    ['1.2.3.0/', 'IP_RANGE_INVALID', 'invalid prefix length / for IPv4'],
    ['1.2.3.0/2x', 'IP_RANGE_INVALID', 'invalid prefix length /2x for IPv4'],
    ['1.2.3.300/24', 'IP_INVALID', 'invalid IPv4 address 1.2.3.300'],
    ['192.168.1.300-192.168.1.310', 'IP_INVALID', 'invalid IPv4 address 192.168.1.300'],
    ['10.0.0.9-10.0.0.1', 'IP_RANGE_INVALID', 'range start 10.0.0.9 is after end 10.0.0.1'],
    ['10.0.0.1-2001:db8::1', 'IP_RANGE_INVALID', 'range mixes IPv4 and IPv6'],
    ['10.0.0.1', 'IP_RANGE_INVALID', 'not a CIDR or a range (write a single IPv4 address as a /32)'],
    ['2001:db8::1', 'IP_RANGE_INVALID', 'not a CIDR or a range (write a single IPv6 address as a /128)'],
  ];
  for (const [text, code, message] of invalid) {
    it(`refuses ${text}`, () => throwsMetallb(() => parsePoolAddresses(text), code, message));
  }
});

describe('range arithmetic', () => {
  const overlaps: [string, string, boolean][] = [
    ['10.0.0.0/24', '10.0.0.255-10.0.1.5', true], // shares one address
    ['10.0.0.0/24', '10.0.1.0/24', false], // adjacent
    ['10.0.0.0/16', '10.0.42.0/24', true], // containment
    ['10.0.0.1-10.0.0.1', '10.0.0.1/32', true],
    ['2001:db8::/64', '2001:db8::ffff:ffff:ffff:ffff-2001:db8:0:1::', true],
    ['0.0.0.0/0', '::/0', false], // families never overlap
  ];
  for (const [a, b, expected] of overlaps) {
    it(`${a} ${expected ? 'overlaps' : 'does not overlap'} ${b}`, () => {
      assert.equal(rangesOverlap(parsePoolAddresses(a), parsePoolAddresses(b)), expected);
      assert.equal(rangesOverlap(parsePoolAddresses(b), parsePoolAddresses(a)), expected);
    });
  }

  it('knows what a range contains', () => {
    const range = parsePoolAddresses('192.168.1.251-192.168.1.253');
    assert.ok(rangeContains(range, v4('192.168.1.251')));
    assert.ok(rangeContains(range, v4('192.168.1.253')));
    assert.ok(!rangeContains(range, v4('192.168.1.254')));
    assert.ok(!rangeContains(range, parseIp('::ffff:192.168.1.252')));
  });

  it('sizes an IPv6 /64 exactly, and a /0 too, without enumerating', () => {
    assert.equal(rangeSize(parsePoolAddresses('2001:db8:1:2::/64')), 18446744073709551616n);
    assert.equal(rangeSize(parsePoolAddresses('::/0')), 1n << 128n);
  });

  const covering: [string, number][] = [
    ['192.168.1.0/24', 24],
    ['192.168.1.251-192.168.1.253', 29],
    ['10.0.0.255-10.0.1.0', 23],
    ['10.0.0.7/32', 32],
    ['0.0.0.0-255.255.255.255', 0],
    ['2001:db8::/64', 64],
    ['2001:db8::-2001:db8::1:0', 111],
  ];
  for (const [text, length] of covering) {
    it(`covers ${text} with a /${length}`, () => {
      assert.equal(coveringPrefixLength(parsePoolAddresses(text)), length);
    });
  }

  it('formats ranges, a single address without a dash', () => {
    assert.equal(formatRange(parsePoolAddresses('10.0.0.0/30')), '10.0.0.0-10.0.0.3');
    assert.equal(formatRange(parsePoolAddresses('10.0.0.9/32')), '10.0.0.9');
    assert.equal(formatRange(parsePoolAddresses('2001:db8::/126')), '2001:db8::-2001:db8::3');
  });
});

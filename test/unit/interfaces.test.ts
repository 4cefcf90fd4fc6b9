import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { announceableInterfaces, type LinkInfo } from '../../speaker/layer2/interfaces.ts';

const link = (ifindex: number, ifname: string, extra: Partial<LinkInfo> = {}): LinkInfo => ({
  ifindex,
  ifname,
  flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
  link_type: 'ether',
  address: `02:00:00:00:00:0${ifindex}`,
  ...extra,
});

// Shapes as `ip -j link show` prints them on a node with a bond, a bridge and a tunnel.
const LINKS: LinkInfo[] = [
  link(1, 'lo', {
    flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
    link_type: 'loopback',
    address: '00:00:00:00:00:00',
  }),
  link(2, 'eth0'),
  link(3, 'eth1', { flags: ['BROADCAST', 'MULTICAST'] }),
  link(4, 'ens5', { master: 'bond0' }),
  link(5, 'bond0'),
  link(6, 'ifb0', { flags: ['BROADCAST', 'NOARP', 'UP'] }),
  link(7, 'tun0', {
    flags: ['POINTOPOINT', 'MULTICAST', 'NOARP', 'UP'],
    link_type: 'none',
    address: undefined,
  }),
  link(8, 'br0'),
  link(9, 'veth1', { master: 'br0' }),
];

describe('announceable interfaces', () => {
  it('keeps up, broadcast, ARP-enabled, non-enslaved Ethernet interfaces', () => {
    assert.deepEqual(
      announceableInterfaces(LINKS).map((i) => i.name),
      ['eth0', 'bond0', 'br0'],
    );
  });

  it('restricts to the named interfaces when asked', () => {
    assert.deepEqual(announceableInterfaces(LINKS, ['bond0', 'eth1']), [
      { index: 5, name: 'bond0', mac: '02:00:00:00:00:05' },
    ]);
  });
});

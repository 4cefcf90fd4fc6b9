import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { announcerOrder, electAnnouncer } from '../../speaker/layer2/election.ts';

describe('layer-2 election', () => {
  // Expected winners computed independently (sha256 hex of "node#ip", lowest first), as MetalLB does.
  const hex = (node: string, ip: string) => createHash('sha256').update(`${node}#${ip}`).digest('hex');
  const table: [string, string[]][] = [
    ['192.168.1.251', ['node1', 'node2', 'node3']],
    ['192.168.1.252', ['node1', 'node2', 'node3']],
    ['192.168.1.253', ['node1', 'node2', 'node3']],
    ['fd00:99::200', ['node1', 'node2', 'node3']],
    ['10.0.0.1', ['a', 'b']],
  ];
  for (const [ip, nodes] of table) {
    it(`picks the lowest sha256(node#ip) for ${ip}`, () => {
      const expected = [...nodes].sort((x, y) => (hex(x, ip) < hex(y, ip) ? -1 : 1))[0];
      assert.equal(electAnnouncer(ip, nodes), expected);
    });
  }

  it('is independent of the order the nodes are listed in', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];
    for (let i = 0; i < 20; i++) {
      const ip = `10.1.0.${i}`;
      assert.deepEqual(announcerOrder(ip, [...nodes].reverse()), announcerOrder(ip, nodes));
    }
  });

  it('moves only the addresses of a node that leaves, to the next in its order', () => {
    const nodes = ['n1', 'n2', 'n3'];
    for (let i = 0; i < 50; i++) {
      const ip = `10.2.0.${i}`;
      const [first, second] = announcerOrder(ip, nodes);
      const survivors = nodes.filter((n) => n !== 'n2');
      assert.equal(electAnnouncer(ip, survivors), first === 'n2' ? second : first);
    }
  });

  it('spreads addresses over the nodes', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const winner = electAnnouncer(`10.3.${i >> 8}.${i & 255}`, ['n1', 'n2', 'n3'])!;
      counts.set(winner, (counts.get(winner) ?? 0) + 1);
    }
    for (const node of ['n1', 'n2', 'n3'])
      assert.ok((counts.get(node) ?? 0) > 60, `${node}: ${counts.get(node)}`);
  });

  it('elects nobody from nobody', () => {
    assert.equal(electAnnouncer('10.0.0.1', []), undefined);
  });
});

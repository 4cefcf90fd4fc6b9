import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Announcer, type AnnouncerIo, type FrameSocket } from '../../speaker/layer2/announcer.ts';
import { decodeArp, encodeArp } from '../../speaker/layer2/arp.ts';
import { Layer2Metrics } from '../../speaker/layer2/layer2-metrics.ts';
import { broadcastMac, formatMac, parseMac } from '../../speaker/layer2/mac.ts';
import {
  decodeNeighborAdvertisement,
  encodeNeighborSolicitation,
  solicitedNodeMulticast,
  solicitedNodeMulticastMac,
} from '../../speaker/layer2/ndp.ts';
import { parseIp } from '../../shared/ip/address.ts';
import { createLogger } from '../../shared/log.ts';
import { Registry } from '../../shared/metrics.ts';

const OUR_MAC = '02:00:00:00:00:aa';
const CLIENT_MAC = parseMac('02:00:00:00:00:cc');
const ETH0 = { index: 2, name: 'eth0', mac: OUR_MAC };

class RecordingSocket implements FrameSocket {
  readonly sent: Buffer[] = [];
  readonly groups = new Set<string>();
  closed = false;
  constructor(readonly deliver: (frame: Buffer) => void) {}
  send(frame: Buffer): void {
    this.sent.push(frame);
  }
  addMulticast(mac: Buffer): void {
    this.groups.add(formatMac(mac));
  }
  dropMulticast(mac: Buffer): void {
    this.groups.delete(formatMac(mac));
  }
  close(): void {
    this.closed = true;
  }
}

/** An announcer on fake sockets and a fake clock that runs timers when told. */
function setup(options: { periodicMs?: number } = {}) {
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let now = 0;
  let nextId = 1;
  const sockets: { arp: RecordingSocket[]; ndp: RecordingSocket[] } = { arp: [], ndp: [] };
  const io: AnnouncerIo = {
    openArp: (_iface, onFrame) => {
      const socket = new RecordingSocket(onFrame);
      sockets.arp.push(socket);
      return socket;
    },
    openNdp: (_iface, onFrame) => {
      const socket = new RecordingSocket(onFrame);
      sockets.ndp.push(socket);
      return socket;
    },
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => {
      const index = timers.findIndex((t) => t.id === id);
      if (index >= 0) timers.splice(index, 1);
    },
  };
  const registry = new Registry();
  const announcer = new Announcer({
    io,
    metrics: new Layer2Metrics(registry),
    log: createLogger({}, 'error'),
    periodicMs: options.periodicMs,
  });
  announcer.setInterfaces([ETH0]);
  const advance = (ms: number): void => {
    now += ms;
    for (let due = timers.find((t) => t.at <= now); due; due = timers.find((t) => t.at <= now)) {
      timers.splice(timers.indexOf(due), 1);
      due.fn();
    }
  };
  return { announcer, sockets, advance, registry, arp: sockets.arp[0]!, ndp: sockets.ndp[0]! };
}

function arpRequest(target: string): Buffer {
  return encodeArp({
    dstMac: broadcastMac(),
    srcMac: CLIENT_MAC,
    operation: 'request',
    senderMac: CLIENT_MAC,
    senderIp: parseIp('10.0.0.5'),
    targetMac: Buffer.alloc(6),
    targetIp: parseIp(target),
  });
}

describe('announcer', () => {
  it('answers ARP requests for owned addresses only, with a unicast reply from our MAC', () => {
    const { announcer, arp, registry } = setup();
    announcer.setOwned([parseIp('10.0.0.100')]);
    arp.sent.length = 0;
    arp.deliver(arpRequest('10.0.0.101'));
    assert.equal(arp.sent.length, 0, 'silent for an address it does not own');
    arp.deliver(arpRequest('10.0.0.100'));
    const reply = decodeArp(arp.sent[0]!);
    assert.equal(reply.operation, 'reply');
    assert.equal(formatMac(reply.dstMac), formatMac(CLIENT_MAC));
    assert.equal(formatMac(reply.senderMac), OUR_MAC);
    assert.equal(registry.value('metallb_layer2_requests_received', { ip: '10.0.0.100' }), 1);
    assert.equal(registry.value('metallb_layer2_responses_sent', { ip: '10.0.0.100' }), 1);
  });

  it('announces a new address at once and every 1.1 s for 5 s, then stops', () => {
    const { announcer, arp, advance, registry } = setup();
    announcer.setOwned([parseIp('10.0.0.100')]);
    assert.equal(arp.sent.length, 2, 'a gratuitous request and reply at once');
    advance(1100);
    advance(1100);
    advance(1100);
    advance(1100);
    assert.equal(arp.sent.length, 10);
    advance(60_000);
    assert.equal(arp.sent.length, 10);
    assert.equal(registry.value('metallb_layer2_gratuitous_sent', { ip: '10.0.0.100' }), 10);
    for (const frame of arp.sent) {
      const garp = decodeArp(frame);
      assert.equal(formatMac(garp.dstMac), 'ff:ff:ff:ff:ff:ff');
      assert.deepEqual(garp.senderIp, garp.targetIp);
    }
  });

  it('stops announcing and answering an address it gave up', () => {
    const { announcer, arp, advance } = setup();
    announcer.setOwned([parseIp('10.0.0.100')]);
    announcer.setOwned([]);
    const before = arp.sent.length;
    advance(10_000);
    arp.deliver(arpRequest('10.0.0.100'));
    assert.equal(arp.sent.length, before);
  });

  it('re-announces forever at the periodic interval when asked', () => {
    const { announcer, arp, advance } = setup({ periodicMs: 30_000 });
    announcer.setOwned([parseIp('10.0.0.100')]);
    advance(5000);
    const afterBurst = arp.sent.length;
    advance(30_000);
    advance(30_000);
    assert.equal(arp.sent.length, afterBurst + 4);
  });

  it('joins the solicited-node group of an owned IPv6 address and answers its NS', () => {
    const { announcer, ndp } = setup();
    const vip = parseIp('fd00::200');
    announcer.setOwned([vip]);
    assert.ok(ndp.groups.has(formatMac(solicitedNodeMulticastMac(vip))));
    ndp.sent.length = 0;
    ndp.deliver(
      encodeNeighborSolicitation({
        dstMac: solicitedNodeMulticastMac(vip),
        srcMac: CLIENT_MAC,
        source: parseIp('fd00::5'),
        destination: solicitedNodeMulticast(vip),
        target: vip,
        sourceLinkLayerAddress: CLIENT_MAC,
      }),
    );
    const advert = decodeNeighborAdvertisement(ndp.sent[0]!);
    assert.equal(advert.solicited, true);
    assert.equal(formatMac(advert.targetLinkLayerAddress!), OUR_MAC);
    announcer.setOwned([]);
    assert.equal(ndp.groups.size, 0, 'left the group with the address');
  });

  it('drops and counts frames that do not decode', () => {
    const { announcer, arp, registry } = setup();
    announcer.setOwned([parseIp('10.0.0.100')]);
    arp.deliver(Buffer.from('truncated'));
    const text = registry.render();
    assert.match(text, /metallb_layer2_frames_dropped_total\{code="FRAME_TRUNCATED"\} 1/);
  });

  it('tells a new interface what it owns, and closes a vanished one', () => {
    const { announcer, sockets } = setup();
    announcer.setOwned([parseIp('10.0.0.100')]);
    announcer.setInterfaces([ETH0, { index: 3, name: 'eth1', mac: '02:00:00:00:00:bb' }]);
    assert.equal(sockets.arp[1]!.sent.length, 2, 'eth1 announced the owned address');
    announcer.setInterfaces([{ index: 3, name: 'eth1', mac: '02:00:00:00:00:bb' }]);
    assert.equal(sockets.arp[0]!.closed, true);
    assert.equal(sockets.ndp[0]!.closed, true);
  });
});

/**
 * A minimal ARP/NDP responder on the packet-socket addon, for test/acceptance/packet-socket.test.ts.
 * Node cannot enter a network namespace, so the test starts this script inside one with
 * `ip netns exec NS node --import tsx layer2-responder.ts --interface IF --ipv4 A --ipv6 B`.
 *
 * Reports JSON lines on stdout ({"event": ...}); takes JSON commands on stdin, each claiming the
 * addresses for another MAC: {"command": C, "mac": "02:..."} with C one of garp-request and
 * garp-reply (the two gratuitous ARP forms, for the IPv4 address) or unsolicited-na (IPv6).
 * When stdin ends it closes its sockets and lets the process end by itself: a socket that still
 * held the event loop would keep it running, which the test would see.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { MetallbError } from '../../shared/errors.ts';
import { formatIp, parseIp, sameIp } from '../../shared/ip/address.ts';
import { arpReply, decodeArp, gratuitousArp } from '../../speaker/layer2/arp.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from '../../speaker/layer2/ethernet.ts';
import { formatMac, parseMac } from '../../speaker/layer2/mac.ts';
import {
  decodeNeighborSolicitation,
  solicitedNeighborAdvertisement,
  solicitedNodeMulticastMac,
  unsolicitedNeighborAdvertisement,
} from '../../speaker/layer2/ndp.ts';
import {
  openPacketSocket,
  PacketSocketError,
  type PacketSocket,
} from '../../speaker/layer2/packet-socket.ts';

const { values } = parseArgs({
  options: { interface: { type: 'string' }, ipv4: { type: 'string' }, ipv6: { type: 'string' } },
});
if (!values.interface || !values.ipv4 || !values.ipv6) {
  throw new Error('usage: layer2-responder.ts --interface IF --ipv4 ADDRESS --ipv6 ADDRESS');
}
const ifname = values.interface;
const ipv4 = parseIp(values.ipv4);
const ipv6 = parseIp(values.ipv6);
// `ip netns exec` mounts the namespace's own /sys, so these describe the namespace's interface.
const ifindex = Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
const mac = parseMac(readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim());

function report(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

function reportError(event: string, error: unknown): void {
  report(event, {
    code: error instanceof MetallbError ? error.code : String(error),
    systemCode: error instanceof PacketSocketError ? error.systemCode : undefined,
  });
}

/** Sends, reporting a failure (such as ENETDOWN) instead of dying of it. */
function send(socket: PacketSocket, frame: Buffer): boolean {
  try {
    socket.send(frame);
    return true;
  } catch (error) {
    reportError('send-error', error);
    return false;
  }
}

const arp: PacketSocket = openPacketSocket(
  {
    ifindex,
    ethertype: ETHERTYPE_ARP,
    filter: 'arp',
    onError: (error) => reportError('receive-error', error),
  },
  (frame) => {
    try {
      const request = decodeArp(frame);
      report('arp', { operation: request.operation, targetIp: formatIp(request.targetIp) });
      if (request.operation !== 'request' || !sameIp(request.targetIp, ipv4)) return;
      const reply = arpReply({
        srcMac: mac,
        dstMac: request.senderMac,
        senderIp: ipv4,
        targetMac: request.senderMac,
        targetIp: request.senderIp,
      });
      if (send(arp, reply)) report('arp-reply', { to: formatMac(request.senderMac) });
    } catch (error) {
      reportError('decode-error', error);
    }
  },
);

const ndp: PacketSocket = openPacketSocket(
  { ifindex, ethertype: ETHERTYPE_IPV6, filter: 'ndp-ns' },
  (frame) => {
    try {
      const solicitation = decodeNeighborSolicitation(frame);
      report('ns', { target: formatIp(solicitation.target), source: formatIp(solicitation.source) });
      if (!sameIp(solicitation.target, ipv6)) return;
      if (send(ndp, solicitedNeighborAdvertisement({ mac, solicitation }))) report('na');
    } catch (error) {
      reportError('decode-error', error);
    }
  },
);
ndp.addMulticast(solicitedNodeMulticastMac(ipv6));
report('ready', { mac: formatMac(mac), ifindex });

const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  const command = JSON.parse(line) as { command: string; mac: string };
  const claimed = parseMac(command.mac);
  const [request, reply] = gratuitousArp({ mac: claimed, ip: ipv4 });
  const frames: Record<string, [PacketSocket, Buffer]> = {
    'garp-request': [arp, request],
    'garp-reply': [arp, reply],
    'unsolicited-na': [ndp, unsolicitedNeighborAdvertisement({ mac: claimed, ip: ipv6 })],
  };
  const chosen = frames[command.command];
  if (!chosen) throw new Error(`unknown command ${line}`);
  if (send(...chosen)) report('sent', { command: command.command });
});
commands.on('close', () => {
  const counters = { arp: arp.counters, ndp: ndp.counters };
  arp.close();
  ndp.close();
  report('closed', counters);
});

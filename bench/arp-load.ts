/**
 * ARP load generator, run inside the lab's client namespace by bench/layer2.bench.ts:
 *   node --import tsx bench/arp-load.ts IFNAME IFINDEX MAC TARGET_IP RATE SECONDS
 * Sends ARP requests for TARGET_IP at RATE per second from 200 sender IPs in turn; a reply comes
 * back addressed to its request's sender, and replies to one sender arrive in order, so a FIFO per
 * sender pairs them. (200, not one per request: the kernel, our reference, keeps a neighbour entry
 * per sender and stops answering once its table is full.) Prints one JSON line: sent, answered,
 * reply latency percentiles in ms.
 */
import { decodeArp, encodeArp } from '../speaker/layer2/arp.ts';
import { ETHERTYPE_ARP } from '../speaker/layer2/ethernet.ts';
import { broadcastMac, parseMac } from '../speaker/layer2/mac.ts';
import { openPacketSocket } from '../speaker/layer2/packet-socket.ts';
import { parseIp } from '../shared/ip/address.ts';
import { percentile } from './measure.ts';

const [, , , ifindexText, macText, targetText, rateText, secondsText] = process.argv;
const mac = parseMac(macText!);
const target = parseIp(targetText!);
const rate = Number(rateText);
const total = Math.round(rate * Number(secondsText));
// Sender addresses 10.200.0.0-199: never a real host, so nobody else answers them.
const SENDER_BASE = parseIp('10.200.0.0').value;
const SENDERS = 200;
const sentAt = new Map<bigint, number[]>();
const latencies: number[] = [];

const socket = openPacketSocket({ ifindex: Number(ifindexText), ethertype: ETHERTYPE_ARP }, (frame) => {
  try {
    const reply = decodeArp(frame);
    if (reply.operation !== 'reply') return;
    const started = sentAt.get(reply.targetIp.value)?.shift();
    if (started === undefined) return;
    latencies.push(performance.now() - started);
  } catch {
    // Not ours.
  }
});

let sent = 0;
const start = performance.now();
await new Promise<void>((resolve) => {
  const tick = (): void => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    for (; sent < due; sent++) {
      const sender = { family: 4 as const, value: SENDER_BASE + BigInt(sent % SENDERS) };
      const queue = sentAt.get(sender.value) ?? [];
      queue.push(performance.now());
      sentAt.set(sender.value, queue);
      socket.send(
        encodeArp({
          dstMac: broadcastMac(),
          srcMac: mac,
          operation: 'request',
          senderMac: mac,
          senderIp: sender,
          targetMac: Buffer.alloc(6),
          targetIp: target,
        }),
      );
    }
    if (sent >= total) resolve();
    else setImmediate(tick);
  };
  tick();
});
await new Promise((resolve) => setTimeout(resolve, 500));
socket.close();
const sorted = latencies.sort((a, b) => a - b);
const elapsed = (performance.now() - start - 500) / 1000;
console.log(
  JSON.stringify({
    sent,
    answered: sorted.length,
    seconds: elapsed,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1),
  }),
);

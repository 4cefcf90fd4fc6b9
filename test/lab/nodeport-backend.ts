/**
 * The lab's stand-in for "kube-proxy + the Service's pods" on one node: there is no kubelet and no
 * kube-proxy here, so this process listens on a block of NodePorts (TCP and UDP, IPv4 and IPv6) and
 * answers every request with the node that took it, like the seeds' kubia pods say which pod did.
 * The node proxy's job ends at the NodePort, so this is exactly what it must reach.
 *   node --import tsx nodeport-backend.ts --node node1 --first 30000 --count 200
 * Prints `listening` once every port is bound.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    node: { type: 'string' },
    first: { type: 'string' },
    count: { type: 'string' },
  },
});
const node = values.node ?? 'unknown';
const first = Number(values.first);
const count = Number(values.count);

const backendAnswer = (nodeName: string, port: number, protocol: 'TCP' | 'UDP'): string =>
  `You've hit ${nodeName} (NodePort ${port}/${protocol})\n`;

const bound: Promise<void>[] = [];
for (let port = first; port < first + count; port++) {
  const http = createServer((_request, response) => {
    // A new connection per request: the lab counts which node took each one.
    response.setHeader('Connection', 'close');
    response.end(backendAnswer(node, port, 'TCP'));
  });
  bound.push(new Promise((resolve) => http.listen({ port, host: '::' }, resolve)));
  // One socket for both families ('::' without ipv6Only takes IPv4-mapped traffic too).
  const udp = createSocket({ type: 'udp6' });
  udp.on('message', (_message, from) => udp.send(backendAnswer(node, port, 'UDP'), from.port, from.address));
  bound.push(new Promise((resolve) => udp.bind({ port, address: '::' }, resolve)));
}
await Promise.all(bound);
console.log('listening');

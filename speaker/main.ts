/**
 * `metallb-ts speaker`: wires the real API client, membership over UDP, AF_PACKET sockets, the
 * announcer and the interface watcher to the Speaker. Flags mirror MetalLB's where they exist; the
 * node name, node IP and memberlist key come from the environment, as the DaemonSet sets them.
 */
import { parseArgs } from 'node:util';
import { loadKubeConfig } from '../shared/k8s/client.ts';
import { createLogger, type Level } from '../shared/log.ts';
import { Registry } from '../shared/metrics.ts';
import { startMonitoringServer } from '../shared/http-server.ts';
import { Announcer } from './layer2/announcer.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './layer2/ethernet.ts';
import { watchInterfaces } from './layer2/interfaces.ts';
import { Layer2Metrics } from './layer2/layer2-metrics.ts';
import { openPacketSocket } from './layer2/packet-socket.ts';
import { DEFAULT_MEMBERSHIP_PORT, Membership } from './membership/membership.ts';
import { registerMembershipMetrics } from './membership/membership-metrics.ts';
import { BgpSession } from './bgp/session.ts';
import { BgpSessions } from './bgp/sessions.ts';
import { nodeAddresses } from './node-addresses.ts';
import { NftProxy } from './proxy/nft.ts';
import { Speaker } from './speaker.ts';

export const SPEAKER_USAGE = `usage: metallb-ts speaker [flags]
  --kubeconfig PATH          kubeconfig to use (default: in-cluster, then ~/.kube/config)
  --node-name NAME           this node (default: $METALLB_NODE_NAME)
  --host ADDR                this node's IP, for membership traffic (default: $METALLB_HOST)
  --namespace NS             namespace of the ConfigMap (default: $METALLB_NAMESPACE or metallb-system)
  --config NAME              ConfigMap name (default: config)
  --ml-bind-port N           membership UDP port (default: 7946); the key comes from $METALLB_ML_SECRET_KEY
  --ml-period-ms N           membership probe period (default: 100)
  --ml-probe-timeout-ms N    direct probe timeout (default: 40)
  --ml-suspicion-ms N        suspicion before a silent node is dead (default: 250)
  --interfaces LIST          announce only on these interfaces (comma-separated; default: all suitable)
  --gratuitous-interval S    also re-announce every S seconds, for switches whose FDB ages out (default: off)
  --node-proxy               forward traffic for announced addresses to the Services' NodePorts with
                             nftables (table inet metallb_ts; needs nft and NET_ADMIN). Off by default:
                             kube-proxy already does this in a normal cluster
  --metrics-host ADDR        address of the metrics/health server (default: --host)
  --port N                   port of the metrics/health server (default: 7472)
  --log-level LEVEL          debug, info, warn or error (default: info)`;

const number = (text: string | undefined): number | undefined =>
  text === undefined ? undefined : Number(text);

export async function runSpeaker(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: 'string' },
      'node-name': { type: 'string', default: process.env['METALLB_NODE_NAME'] },
      host: { type: 'string', default: process.env['METALLB_HOST'] },
      namespace: { type: 'string', default: process.env['METALLB_NAMESPACE'] ?? 'metallb-system' },
      config: { type: 'string', default: 'config' },
      'ml-bind-port': { type: 'string', default: String(DEFAULT_MEMBERSHIP_PORT) },
      'ml-period-ms': { type: 'string' },
      'ml-probe-timeout-ms': { type: 'string' },
      'ml-suspicion-ms': { type: 'string' },
      interfaces: { type: 'string' },
      'gratuitous-interval': { type: 'string' },
      'node-proxy': { type: 'boolean', default: false },
      'metrics-host': { type: 'string' },
      port: { type: 'string', default: '7472' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(SPEAKER_USAGE + '\n');
    return 0;
  }
  const nodeName = values['node-name'];
  const host = values.host;
  const key = process.env['METALLB_ML_SECRET_KEY'];
  const missing = [
    nodeName ? '' : '--node-name or $METALLB_NODE_NAME',
    host ? '' : '--host or $METALLB_HOST',
    key ? '' : '$METALLB_ML_SECRET_KEY (the memberlist Secret)',
  ].filter(Boolean);
  if (!nodeName || !host || !key) {
    process.stderr.write(`speaker: missing ${missing.join(', ')}\n`);
    return 2;
  }
  const log = createLogger({ component: 'speaker', node: nodeName }, values['log-level'] as Level);
  let proxy: NftProxy | undefined;
  if (values['node-proxy']) {
    try {
      // First, before anything announces: a node proxy that cannot work must stop the speaker with
      // nft's own words, not leave it announcing addresses that lead nowhere.
      proxy = await NftProxy.start({ log });
    } catch (error) {
      process.stderr.write(`speaker: --node-proxy: ${(error as Error).message}\n`);
      return 1;
    }
  }
  const registry = new Registry();
  const membership = new Membership({
    nodeName,
    bindAddress: host,
    port: Number(values['ml-bind-port']),
    key: Buffer.from(key, 'utf8'),
    timings: Object.fromEntries(
      Object.entries({
        periodMs: number(values['ml-period-ms']),
        probeTimeoutMs: number(values['ml-probe-timeout-ms']),
        suspicionTimeoutMs: number(values['ml-suspicion-ms']),
      }).filter(([, value]) => value !== undefined),
    ),
    log,
  });
  registerMembershipMetrics(registry, membership);
  const periodicSeconds = number(values['gratuitous-interval']);
  const announcer = new Announcer({
    io: {
      openArp: (iface, onFrame) =>
        openPacketSocket({ ifindex: iface.index, ethertype: ETHERTYPE_ARP, filter: 'arp' }, onFrame),
      openNdp: (iface, onFrame) =>
        openPacketSocket({ ifindex: iface.index, ethertype: ETHERTYPE_IPV6, filter: 'ndp-ns' }, onFrame),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    },
    metrics: new Layer2Metrics(registry),
    log,
    periodicMs: periodicSeconds === undefined ? undefined : periodicSeconds * 1000,
  });
  const stopInterfaces = watchInterfaces(
    values.interfaces
      ?.split(',')
      .map((name) => name.trim())
      .filter(Boolean),
    (interfaces) => announcer.setInterfaces(interfaces),
    (error) => log.error('cannot list interfaces', { error }),
  );
  const bgp = new BgpSessions({
    createSession: (options) => new BgpSession(options),
    nodeAddresses: await nodeAddresses(host),
    log,
    registry,
  });
  const speaker = new Speaker({
    kubeConfig: loadKubeConfig(values.kubeconfig),
    nodeName,
    namespace: values.namespace,
    configMapName: values.config,
    membership,
    layer2: announcer,
    bgp,
    proxy,
    log,
    registry,
  });
  const server = await startMonitoringServer(
    values['metrics-host'] ?? host,
    Number(values.port),
    registry,
    () => speaker.ready,
  );
  await membership.start();
  speaker.start();
  log.info('speaker started', { host, metricsPort: server.port });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // Tell the other speakers and the routers first, so they move traffic at once; then stop answering.
  log.info('speaker leaving');
  await Promise.all([membership.leave(), bgp.shutdown()]);
  await proxy?.stop();
  announcer.close();
  stopInterfaces();
  speaker.stop();
  await membership.stop();
  await server.close();
  return 0;
}

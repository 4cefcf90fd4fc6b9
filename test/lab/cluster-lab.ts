/**
 * The lab cluster as one fixture: a real etcd + kube-apiserver, our manifests, the controller (as
 * its ServiceAccount), three node namespaces each running a real speaker as its own Node (through
 * an apiserver relay), a client namespace on the same bridge and, for BGP, a router namespace
 * running FRR. Used by the acceptance tests, the benchmarks and the lab command, with helpers that
 * look at the network the way a client or a router does.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../shared/k8s/client.ts';
import { startApiServer, type ApiServer } from '../harness/apiserver.ts';
import { startController, type ControllerProcess } from '../harness/controller-process.ts';
import { startDaemon, type Daemon } from '../harness/daemon.ts';
import { startSpeaker, type SpeakerProcess } from '../harness/speaker-process.ts';
import { waitFor } from '../harness/wait.ts';
import { PROXY_TABLE } from '../../speaker/proxy/ruleset.ts';
import { startApiRelay, type ApiRelay } from './api-relay.ts';
import { startBird, type BirdRouter } from './bird.ts';
import { listeningRouterConfig, startFrr, type FrrRouter } from './frr.ts';
import { createLabNetwork, type LabHost, type LabNetwork } from './netns.ts';

const REPO = join(import.meta.dirname, '..', '..');

export const LAB_CONFIG = `address-pools:
- name: lab
  protocol: layer2
  addresses:
  - 10.99.0.200-10.99.0.250
  - fd00:99::200-fd00:99::250
`;

/**
 * The NodePorts the lab hands out (Services get theirs explicitly from this block) and on which the
 * backend stand-in of every node listens (see nodeport-backend.ts).
 */
export const LAB_NODE_PORTS = { first: 30000, count: 200 } as const;

/** What the backend stand-ins answer: `You've hit node2 (NodePort 30001/TCP)`. */
export const BACKEND_ANSWER = /You've hit (\S+) \(NodePort (\d+)\/(TCP|UDP)\)/;

export interface BackendAnswer {
  readonly node: string;
  readonly nodePort: number;
  readonly protocol: 'TCP' | 'UDP';
}

const hostPart = (ip: string): string => (ip.includes(':') ? `[${ip}]` : ip);

export interface ServicePortSpec {
  readonly port: number;
  readonly protocol?: 'TCP' | 'UDP';
  /** Default: the next one of LAB_NODE_PORTS (where the backend stand-ins listen). */
  readonly nodePort?: number;
}

/** Both modes side by side: the layer-2 pool on the lab segment, a BGP pool the router spreads. */
export const BOTH_MODES_CONFIG = `peers:
- peer-address: 10.99.0.1
  peer-asn: 64501
  my-asn: 64500
  hold-time: 9s
address-pools:
- name: default
  protocol: layer2
  addresses:
  - 10.99.0.200-10.99.0.250
  - fd00:99::200-fd00:99::250
- name: bgp
  protocol: bgp
  auto-assign: false
  avoid-buggy-ips: true
  addresses:
  - 10.100.0.0/24
  - fd00:100::/120
`;

/** The FRR side of BOTH_MODES_CONFIG: AS 64501 at 10.99.0.1, accepting every lab node. */
export const BOTH_MODES_ROUTER = listeningRouterConfig({
  asn: 64501,
  routerId: '10.99.0.1',
  listenRanges: ['10.99.0.0/24'],
  holdSeconds: 9,
});

export interface ServiceSpec {
  readonly ip?: string;
  readonly endpointNodes?: string[];
  readonly trafficPolicy?: 'Cluster' | 'Local';
  readonly annotations?: Record<string, string>;
  readonly port?: number;
  /** Several ports (overrides `port`); each gets a NodePort from LAB_NODE_PORTS. */
  readonly ports?: readonly ServicePortSpec[];
  readonly dualStack?: boolean;
  readonly namespace?: string;
}

export interface ClusterLabOptions {
  readonly config?: string;
  /** Extra speaker flags, e.g. shorter membership timings. */
  readonly speakerArgs?: readonly string[];
  /** An apiserver already running (test files own theirs through useApiServer). */
  readonly api?: ApiServer;
  /** bgpd.conf for an FRR router at 10.99.0.1 on the same segment; no router when absent. */
  readonly routerConfig?: string;
  /** bird.conf for a BIRD 2 router at 10.99.0.1 instead of FRR. */
  readonly birdConfig?: string;
  /** Node labels, by node name (e.g. for peer node-selectors). */
  readonly nodeLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * Speakers run with --node-proxy, and every node runs the NodePort backend stand-in, so a client
   * reaches Services end to end through their EXTERNAL-IPs.
   */
  readonly nodeProxy?: boolean;
  /** Told each stage of the start-up as it begins (the lab command prints them). */
  readonly progress?: (stage: string) => void;
}

export class ClusterLab {
  readonly speakers = new Map<string, SpeakerProcess>();
  private relay: ApiRelay | undefined;
  private controllerProcess: ControllerProcess | undefined;
  private speakerKubeconfig = '';
  /** The speakers' ServiceAccount token (their kubeconfig reaches the apiserver through the relay). */
  speakerToken = '';
  private memberlistKey = '';
  private readonly ownsApi: boolean;
  private frr: FrrRouter | undefined;
  private birdRouter: BirdRouter | undefined;
  private readonly backends: Daemon[] = [];
  private nextNodePort: number = LAB_NODE_PORTS.first;

  private constructor(
    readonly api: ApiServer,
    readonly network: LabNetwork,
    readonly core: CoreV1Api,
    readonly discovery: DiscoveryV1Api,
    private readonly options: ClusterLabOptions,
  ) {
    this.ownsApi = options.api === undefined;
  }

  static async start(options: ClusterLabOptions = {}): Promise<ClusterLab> {
    if (!options.api) options.progress?.('starting etcd and kube-apiserver on loopback');
    const api = options.api ?? (await startApiServer());
    let network: LabNetwork | undefined;
    try {
      options.progress?.('creating network namespaces: a switch, three nodes, a client, a router');
      network = createLabNetwork(3, {
        router: options.routerConfig !== undefined || options.birdConfig !== undefined,
      });
      const kubeConfig = loadKubeConfig(api.kubeconfigPath);
      const lab = new ClusterLab(
        api,
        network,
        kubeConfig.makeApiClient(CoreV1Api),
        kubeConfig.makeApiClient(DiscoveryV1Api),
        options,
      );
      try {
        await lab.install();
      } catch (error) {
        await lab.stop();
        throw error;
      }
      return lab;
    } catch (error) {
      network?.teardown();
      if (!options.api) await api.stop();
      throw error;
    }
  }

  get nodes(): readonly LabHost[] {
    return this.network.nodes;
  }

  /** The FRR router (only with `routerConfig`). */
  get router(): FrrRouter {
    if (!this.frr) throw new Error('this lab has no router: pass routerConfig');
    return this.frr;
  }

  /** The BIRD router (only with `birdConfig`). */
  get bird(): BirdRouter {
    if (!this.birdRouter) throw new Error('this lab has no BIRD router: pass birdConfig');
    return this.birdRouter;
  }

  /** Stops FRR and starts it again with the same config: every session must come back by itself. */
  async restartRouter(): Promise<void> {
    const router = this.network.router;
    if (!this.frr || !router || this.options.routerConfig === undefined)
      throw new Error('this lab has no router');
    await this.frr.stop();
    this.frr = await startFrr({ ns: router.ns, bgpdConfig: this.options.routerConfig });
  }

  get controller(): ControllerProcess {
    return this.controllerProcess!;
  }

  async kubectl(args: string[], input?: string): Promise<string> {
    return this.api.kubectlOk(args, input === undefined ? {} : { input });
  }

  nodeByName(name: string): LabHost {
    const node = this.network.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no lab node ${name}`);
    return node;
  }

  nodeByMac(mac: string): string | undefined {
    return this.network.nodes.find((n) => n.mac === mac.toLowerCase())?.name;
  }

  /** Nodes whose speaker process is running. */
  alive(): string[] {
    return this.network.nodes.map((n) => n.name).filter((n) => this.speakers.get(n)?.daemon.isRunning());
  }

  async startNodeSpeaker(name: string): Promise<SpeakerProcess> {
    const speaker = await startSpeaker(
      this.nodeByName(name),
      this.speakerKubeconfig,
      this.memberlistKey,
      join(this.api.dir, `speaker-${name}-${Date.now()}.log`),
      [...(this.options.nodeProxy ? ['--node-proxy'] : []), ...(this.options.speakerArgs ?? [])],
    );
    this.speakers.set(name, speaker);
    try {
      await waitFor(() => speaker.ready(), { description: `speaker ${name} ready`, timeoutMs: 20_000 });
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n--- speaker ${name} (${speaker.daemon.isRunning() ? 'running' : 'exited'}):\n${speaker.daemon.logTail(30)}`,
      );
    }
    return speaker;
  }

  /** A LoadBalancer Service plus the EndpointSlice the endpoint-slice controller would write. */
  async createService(name: string, spec: ServiceSpec = {}): Promise<string[]> {
    const namespace = spec.namespace ?? 'default';
    const annotations = {
      ...spec.annotations,
      ...(spec.ip ? { 'metallb.universe.tf/loadBalancerIPs': spec.ip } : {}),
    };
    await this.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name, annotations },
        spec: {
          type: 'LoadBalancer',
          selector: { app: name },
          externalTrafficPolicy: spec.trafficPolicy ?? 'Cluster',
          ports: (spec.ports ?? [{ port: spec.port ?? 80 }]).map(({ port, protocol, nodePort }) => ({
            name: `${(protocol ?? 'TCP').toLowerCase()}-${port}`,
            port,
            protocol: protocol ?? 'TCP',
            targetPort: 8080,
            nodePort: nodePort ?? this.takeNodePort(),
          })),
          ...(spec.dualStack ? { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] } : {}),
        },
      },
    });
    await this.setEndpoints(name, spec.endpointNodes ?? ['node1'], namespace);
    return waitFor(
      async () => {
        const service = await this.core.readNamespacedService({ name, namespace });
        const ips = (service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
        return ips.length > 0 ? ips : undefined;
      },
      { description: `${name} to get an address`, intervalMs: 20 },
    );
  }

  /** The NodePorts a Service got, in the order of its ports. */
  async nodePorts(name: string, namespace = 'default'): Promise<number[]> {
    const service = await this.core.readNamespacedService({ name, namespace });
    return (service.spec?.ports ?? []).map((port) => port.nodePort ?? 0);
  }

  /** Whether the node proxy's table exists on a node. */
  hasProxyTable(node: string): boolean {
    return this.network.exec(this.nodeByName(node).ns, 'nft', ['list', 'tables']).includes(PROXY_TABLE);
  }

  /** The node proxy's table on a node, as `nft list` prints it (nft fails when there is none). */
  proxyRules(node: string): string {
    return this.network.exec(this.nodeByName(node).ns, 'nft', ['list', 'table', 'inet', PROXY_TABLE]);
  }

  private takeNodePort(): number {
    if (this.nextNodePort >= LAB_NODE_PORTS.first + LAB_NODE_PORTS.count)
      throw new Error(`the lab's ${LAB_NODE_PORTS.count} NodePorts are all used`);
    return this.nextNodePort++;
  }

  /** One HTTP request from the client on a new connection: who answered, or undefined on timeout. */
  async curlFromClient(ip: string, port: number, timeoutSeconds = 2): Promise<BackendAnswer | undefined> {
    return this.askFromClient('curl', [
      '-s',
      '--max-time',
      String(timeoutSeconds),
      `http://${hostPart(ip)}:${port}/`,
    ]);
  }

  /** One UDP datagram from the client: who answered, or undefined on timeout. */
  async udpFromClient(ip: string, port: number, timeoutSeconds = 2): Promise<BackendAnswer | undefined> {
    return this.askFromClient(
      'socat',
      ['-t', String(timeoutSeconds), '-T', String(timeoutSeconds), '-', `UDP:${hostPart(ip)}:${port}`],
      'hello\n',
    );
  }

  private async askFromClient(
    command: string,
    args: string[],
    input?: string,
  ): Promise<BackendAnswer | undefined> {
    const running = promisify(execFile)('ip', ['netns', 'exec', this.network.client.ns, command, ...args], {
      encoding: 'utf8',
    });
    running.child.stdin?.end(input ?? '');
    try {
      const match = BACKEND_ANSWER.exec((await running).stdout);
      return match
        ? { node: match[1]!, nodePort: Number(match[2]), protocol: match[3] as 'TCP' | 'UDP' }
        : undefined;
    } catch {
      return undefined;
    }
  }

  async setEndpoints(service: string, nodes: string[], namespace = 'default'): Promise<void> {
    const name = `${service}-slice`;
    const body = {
      metadata: { name, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ port: 8080, protocol: 'TCP' }],
      endpoints: nodes.map((nodeName, i) => ({
        addresses: [`10.244.${i + 1}.10`],
        nodeName,
        conditions: { ready: true },
      })),
    };
    try {
      await this.discovery.replaceNamespacedEndpointSlice({ name, namespace, body });
    } catch {
      await this.discovery.createNamespacedEndpointSlice({ namespace, body });
    }
  }

  /** Who answers ARP for `ip` as seen by the client: the node of every reply's MAC. */
  arpAnswerers(ip: string, count = 3): string[] {
    let output = '';
    try {
      output = this.network.exec(this.network.client.ns, 'arping', [
        '-c',
        String(count),
        '-w',
        '3',
        '-I',
        'eth0',
        ip,
      ]);
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? '');
    }
    return [...output.matchAll(/bytes from ([0-9a-f:]{17}) \(/g)].map((m) => this.nodeByMac(m[1]!) ?? m[1]!);
  }

  /** The node whose MAC the client's neighbour table holds for `ip`. */
  clientNeighbour(ip: string): string | undefined {
    const entries = JSON.parse(
      this.network.exec(this.network.client.ns, 'ip', ['-j', 'neigh', 'show', ip]),
    ) as {
      lladdr?: string;
    }[];
    const mac = entries[0]?.lladdr;
    return mac ? this.nodeByMac(mac) : undefined;
  }

  /** Makes the client resolve `ip` (a ping triggers ARP/NDP; nobody answers the echo itself). */
  resolveFromClient(ip: string): void {
    try {
      this.network.exec(this.network.client.ns, 'ping', ['-c', '1', '-W', '1', ip]);
    } catch {
      // No echo reply is expected: only the neighbour resolution matters.
    }
  }

  /** Captures ARP and ICMPv6 on the client while `action` runs and `ms` after; tcpdump's lines. */
  async capture(ms: number, action: () => Promise<void> | void): Promise<string[]> {
    const tcpdump = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.network.client.ns,
        'tcpdump',
        '-i',
        'eth0',
        '-nn',
        '-e',
        '-l',
        '-tt',
        'arp or icmp6',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    tcpdump.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise<void>((resolve) => tcpdump.stderr.once('data', () => resolve()));
    try {
      await action();
      await new Promise((resolve) => setTimeout(resolve, ms));
    } finally {
      tcpdump.kill('SIGTERM');
      await new Promise((resolve) => tcpdump.once('exit', resolve));
    }
    return out.split('\n').filter(Boolean);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.speakers.values()].map((s) => s.daemon.stop(2000)));
    await Promise.all(this.backends.map((backend) => backend.stop()));
    await this.controllerProcess?.daemon.stop();
    await this.relay?.stop();
    await this.frr?.stop();
    await this.birdRouter?.stop();
    this.network.teardown();
    if (this.ownsApi) await this.api.stop();
  }

  private async install(): Promise<void> {
    const progress = this.options.progress ?? (() => {});
    progress(
      'kubectl apply -f manifests/namespace.yaml -f manifests/metallb.yaml; the ConfigMap; three Nodes',
    );
    await this.kubectl([
      'apply',
      '--server-side',
      '--field-manager=lab',
      '-f',
      join(REPO, 'manifests/namespace.yaml'),
    ]);
    await this.kubectl([
      'apply',
      '--server-side',
      '--field-manager=lab',
      '-f',
      join(REPO, 'manifests/metallb.yaml'),
    ]);
    await this.kubectl([
      'create',
      'configmap',
      'config',
      '-n',
      'metallb-system',
      `--from-literal=config=${this.options.config ?? LAB_CONFIG}`,
    ]);
    for (const node of this.network.nodes) {
      await this.core.createNode({
        body: {
          metadata: {
            name: node.name,
            labels: { 'kubernetes.io/hostname': node.name, ...this.options.nodeLabels?.[node.name] },
          },
          status: { addresses: [{ type: 'InternalIP', address: node.ipv4 }] },
        },
      });
    }
    if (this.options.routerConfig !== undefined && this.network.router) {
      progress('starting FRR (zebra + bgpd) in the router namespace');
      this.frr = await startFrr({ ns: this.network.router.ns, bgpdConfig: this.options.routerConfig });
    }
    if (this.options.birdConfig !== undefined && this.network.router) {
      this.birdRouter = await startBird(this.network.router.ns, this.options.birdConfig);
    }
    progress('starting the controller as ServiceAccount metallb-system/controller');
    const controllerToken = (
      await this.kubectl(['create', 'token', 'controller', '-n', 'metallb-system'])
    ).trim();
    const controllerKubeconfig = join(this.api.dir, 'controller.kubeconfig');
    this.api.writeKubeconfig(controllerKubeconfig, controllerToken, 'controller');
    this.controllerProcess = await startController(
      controllerKubeconfig,
      join(this.api.dir, 'controller.log'),
    );
    // The key, as kubelet would hand it to the DaemonSet from the Secret the controller created.
    this.memberlistKey = await waitFor(
      async () => {
        const secret = await this.core.readNamespacedSecret({
          name: 'memberlist',
          namespace: 'metallb-system',
        });
        const value = secret.data?.['secretkey'];
        return value ? Buffer.from(value, 'base64').toString('utf8') : undefined;
      },
      { description: 'the memberlist Secret' },
    );
    this.relay = await startApiRelay(
      this.api.url,
      this.api.dir,
      this.network.nodes.map((n) => n.ns),
    );
    this.speakerToken = (
      await this.kubectl(['create', 'token', 'speaker', '-n', 'metallb-system', '--duration=12h'])
    ).trim();
    this.speakerKubeconfig = join(this.api.dir, 'speaker.kubeconfig');
    this.api.writeKubeconfig(this.speakerKubeconfig, this.speakerToken, 'speaker', this.relay.url);
    progress(
      `starting a speaker per node as ServiceAccount metallb-system/speaker${this.options.nodeProxy ? ' (--node-proxy), and the NodePort backends' : ''}`,
    );
    if (this.options.nodeProxy) await Promise.all(this.network.nodes.map((node) => this.startBackend(node)));
    await Promise.all(this.network.nodes.map((node) => this.startNodeSpeaker(node.name)));
  }

  private async startBackend(node: LabHost): Promise<void> {
    const logFile = join(this.api.dir, `backend-${node.name}.log`);
    const backend = await startDaemon({
      name: `backend-${node.name}`,
      command: 'ip',
      args: [
        'netns',
        'exec',
        node.ns,
        process.execPath,
        '--import',
        'tsx',
        join(import.meta.dirname, 'nodeport-backend.ts'),
        `--node=${node.name}`,
        `--first=${LAB_NODE_PORTS.first}`,
        `--count=${LAB_NODE_PORTS.count}`,
      ],
      logFile,
    });
    this.backends.push(backend);
    await waitFor(() => backend.logTail(5).includes('listening'), {
      description: `the NodePort backend on ${node.name}`,
      timeoutMs: 20_000,
    });
  }
}

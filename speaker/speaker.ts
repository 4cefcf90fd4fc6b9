/**
 * Wires the speaker's parts to the API: watches Services, EndpointSlices, Nodes and the ConfigMap,
 * feeds membership the peer list, and after every change computes the desired state and tells
 * the layer-2 sink which addresses this node owns. It decides nothing itself.
 * If the apiserver goes away the watches keep their last lists, so announcements continue.
 */
import {
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1ConfigMap,
  type V1EndpointSlice,
  type V1Node,
  type V1Service,
} from '@kubernetes/client-node';
import { LastGoodConfig } from '../shared/config/last-good.ts';
import { createEventRecorder, type EventRecorder } from '../shared/k8s/events.ts';
import { ResilientWatch } from '../shared/k8s/watch.ts';
import type { Logger } from '../shared/log.ts';
import { IncrementalDesiredState, type Announcement, type NodeView } from './desired-state.ts';
import type { BgpPort, Layer2Port, MembershipPort } from './ports.ts';
import type { ProxyPort } from './proxy/port.ts';
import { proxyTargets } from './proxy/targets.ts';
import { peersForNode } from './bgp/node-selectors.ts';
import { IncrementalRoutes } from './bgp/routes.ts';
import { SpeakerMetrics } from './speaker-metrics.ts';
import { SERVICE_NAME_LABEL, ServiceViews, nodeAddress, nodeView } from './views.ts';
import type { Registry } from '../shared/metrics.ts';

export interface SpeakerOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  readonly namespace: string;
  readonly configMapName: string;
  readonly membership: MembershipPort;
  readonly layer2: Layer2Port;
  readonly bgp: BgpPort;
  /** The node proxy, when enabled (--node-proxy). */
  readonly proxy?: ProxyPort | undefined;
  readonly log: Logger;
  readonly registry: Registry;
}

type Watched = 'services' | 'slices' | 'nodes' | 'config';

export class Speaker {
  private readonly config = new LastGoodConfig();
  private readonly services: ResilientWatch<V1Service>;
  private readonly slices: ResilientWatch<V1EndpointSlice>;
  private readonly nodes: ResilientWatch<V1Node>;
  private readonly configMaps: ResilientWatch<V1ConfigMap>;
  private readonly events: EventRecorder;
  private readonly metrics: SpeakerMetrics;
  private readonly views = new ServiceViews();
  private readonly desired = new IncrementalDesiredState();
  private readonly routes = new IncrementalRoutes();
  /** Kept as the same map while no node's view changed (Node status heartbeats change nothing here). */
  private nodeViews: ReadonlyMap<string, NodeView> = new Map();
  private readonly synced = new Set<Watched>();
  private membershipReady = false;
  private scheduled = false;
  /** `ip|service` pairs this node announced last time, for nodeAssigned events. */
  private announced = new Set<string>();

  constructor(private readonly options: SpeakerOptions) {
    const { kubeConfig, namespace, configMapName, log } = options;
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
    this.events = createEventRecorder(core, 'metallb-speaker', log);
    this.metrics = new SpeakerMetrics(options.registry, options.nodeName);
    const handlers = (name: Watched) => ({
      onChange: () => this.schedule(),
      onDelete: () => this.schedule(),
      onSynced: () => {
        this.synced.add(name);
        this.schedule();
      },
    });
    this.services = new ResilientWatch(
      { kubeConfig, path: '/api/v1/services', list: () => core.listServiceForAllNamespaces(), log },
      handlers('services'),
    );
    this.slices = new ResilientWatch(
      {
        kubeConfig,
        path: '/apis/discovery.k8s.io/v1/endpointslices',
        list: () => discovery.listEndpointSliceForAllNamespaces(),
        log,
      },
      handlers('slices'),
    );
    this.nodes = new ResilientWatch(
      { kubeConfig, path: '/api/v1/nodes', list: () => core.listNode(), log },
      handlers('nodes'),
    );
    const fieldSelector = `metadata.name=${configMapName}`;
    this.configMaps = new ResilientWatch(
      {
        kubeConfig,
        path: `/api/v1/namespaces/${namespace}/configmaps`,
        list: () => core.listNamespacedConfigMap({ namespace, fieldSelector }),
        fieldSelector,
        log,
      },
      {
        onChange: (configMap) => this.loadConfig(configMap),
        onDelete: () => log.warn('ConfigMap deleted; keeping the last good config'),
        onSynced: () => {
          this.synced.add('config');
          this.schedule();
        },
      },
    );
    options.membership.onChange(() => this.schedule());
  }

  /** Ready: config known, every watch listed once, and membership has probed everyone once. */
  get ready(): boolean {
    return this.membershipReady && this.synced.size === 4 && this.config.current !== undefined;
  }

  start(): void {
    for (const watch of [this.configMaps, this.nodes, this.slices, this.services]) watch.start();
    void this.options.membership.initialSyncDone().then(() => {
      this.membershipReady = true;
      this.schedule();
    });
  }

  stop(): void {
    for (const watch of [this.configMaps, this.nodes, this.slices, this.services]) watch.stop();
  }

  private loadConfig(configMap: V1ConfigMap): void {
    const result = this.config.load(configMap.data?.['config'] ?? '');
    if (result.kind === 'refused') {
      this.options.log.error('config refused; keeping the last good config', { errors: result.errors });
    }
    this.metrics.config(this.config);
    this.schedule();
  }

  /** Coalesces a burst of changes into one recomputation on the next turn of the event loop. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.reconcile();
    });
  }

  private reconcile(): void {
    const { nodeName, membership, layer2 } = this.options;
    const nodes = this.nodes.list();
    membership.setKnownMembers(
      nodes.flatMap((node) => {
        const address = nodeAddress(node);
        return address && node.metadata?.name ? [{ name: node.metadata.name, address }] : [];
      }),
    );
    // Announce nothing until we know who is alive: a starting speaker alone would otherwise
    // elect itself for every address and fight the real owners.
    if (!this.ready) return;
    const pools = this.config.current?.pools ?? [];
    const slicesByService = new Map<string, V1EndpointSlice[]>();
    for (const slice of this.slices.list()) {
      const key = `${slice.metadata?.namespace}/${slice.metadata?.labels?.[SERVICE_NAME_LABEL]}`;
      slicesByService.set(key, [...(slicesByService.get(key) ?? []), slice]);
    }
    const services = this.services.list().flatMap((service) => {
      const view = this.views.view(
        service,
        slicesByService.get(`${service.metadata?.namespace}/${service.metadata?.name}`) ?? [],
      );
      return view ? [view] : [];
    });
    const desired = this.desired.compute({
      pools,
      services,
      nodes: this.viewsOf(nodes),
      alive: membership.aliveMembers(),
    });
    const mine = desired.filter((a) => a.protocol === 'layer2' && a.announcer === nodeName);
    layer2.setOwned(mine.map((a) => a.ip));
    const advertised = desired.filter((a) => a.protocol === 'bgp' && a.advertisers.includes(nodeName));
    const myLabels = nodes.find((node) => node.metadata?.name === nodeName)?.metadata?.labels ?? {};
    this.options.bgp.setDesired(
      peersForNode(this.config.current?.peers ?? [], myLabels),
      this.routes.compute(advertised, pools, nodeName),
    );
    const served = [...mine, ...advertised];
    this.options.proxy?.setTargets(proxyTargets(served, new Map(services.map((view) => [view.key, view]))));
    this.metrics.announced(served);
    this.recordAssignments(served);
  }

  /** The same map while the nodes look the same, so the desired state can reuse its work. */
  private viewsOf(nodes: readonly V1Node[]): ReadonlyMap<string, NodeView> {
    const views = new Map(nodes.map((node) => [node.metadata?.name ?? '', nodeView(node)]));
    if (!sameNodeViews(views, this.nodeViews)) this.nodeViews = views;
    return this.nodeViews;
  }

  private recordAssignments(mine: readonly Announcement[]): void {
    const now = new Set<string>();
    for (const announcement of mine) {
      for (const key of announcement.services) {
        const pair = `${announcement.ipText}|${key}`;
        now.add(pair);
        if (this.announced.has(pair)) continue;
        const [namespace, name] = key.split('/');
        const service = namespace && name ? this.services.get(namespace, name) : undefined;
        if (!service) continue;
        this.options.log.info('announcing', { service: key, ip: announcement.ipText });
        this.events.record(
          { kind: 'Service', metadata: service.metadata },
          'Normal',
          'nodeAssigned',
          `announcing from node "${this.options.nodeName}" with protocol "${announcement.protocol}"`,
        );
      }
    }
    this.announced = now;
  }
}

function sameNodeViews(a: ReadonlyMap<string, NodeView>, b: ReadonlyMap<string, NodeView>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, view] of a) {
    const other = b.get(name);
    if (!other || other.networkUnavailable !== view.networkUnavailable) return false;
    const labels = Object.entries(view.labels);
    if (labels.length !== Object.keys(other.labels).length) return false;
    if (labels.some(([key, value]) => other.labels[key] !== value)) return false;
  }
  return true;
}

/**
 * Wires the controller's parts to the API: watches Services and the ConfigMap, learns existing
 * assignments once both are known, then reconciles Services through the work queue. It decides
 * nothing itself; the reconciler, allocator and config loader do.
 */
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1ConfigMap,
  type V1Service,
} from '@kubernetes/client-node';
import type { Logger } from '../shared/log.ts';
import type { Registry } from '../shared/metrics.ts';
import { apiErrorMessage, apiStatus } from '../shared/k8s/client.ts';
import { createEventRecorder, type EventRecorder } from '../shared/k8s/events.ts';
import { ResilientWatch } from '../shared/k8s/watch.ts';
import { Allocator } from './allocator.ts';
import { LastGoodConfig } from '../shared/config/last-good.ts';
import { learnAssignments } from './learn.ts';
import { ensureMemberlistSecret } from './memberlist-secret.ts';
import { createServiceReconciler } from './reconciler.ts';
import { serviceKey } from './service-request.ts';
import { WorkQueue } from './work-queue.ts';
import { ControllerMetrics } from './controller-metrics.ts';

export interface ControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly configMapName: string;
  readonly memberlistSecretName: string;
  readonly loadBalancerClass: string | undefined;
  readonly log: Logger;
  readonly registry: Registry;
}

export class Controller {
  private readonly core: CoreV1Api;
  private readonly allocator = new Allocator();
  private readonly loader = new LastGoodConfig((config) => this.allocator.setPools(config.pools));
  private readonly metrics: ControllerMetrics;
  private readonly events: EventRecorder;
  private readonly queue: WorkQueue;
  private readonly services: ResilientWatch<V1Service>;
  private readonly configMaps: ResilientWatch<V1ConfigMap>;
  private servicesSynced = false;
  private learned = false;
  private secretTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ControllerOptions) {
    const { kubeConfig, namespace, configMapName, log } = options;
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.metrics = new ControllerMetrics(options.registry);
    this.events = createEventRecorder(this.core, 'metallb-controller', log);
    const reconcile = createServiceReconciler({
      allocator: this.allocator,
      getService: (key) => {
        const [ns = '', name = ''] = key.split('/');
        return this.services.get(ns, name);
      },
      writeStatus: (service, ips) => this.writeStatus(service, ips),
      events: this.events,
      loadBalancerClass: options.loadBalancerClass,
    });
    this.queue = new WorkQueue(
      async (key) => {
        const outcome = await reconcile(key);
        this.metrics.reconciled(outcome, this.allocator);
        if (outcome.kind !== 'ok') log.debug('reconcile', { service: key, outcome });
        return outcome;
      },
      {
        baseDelayMs: 200,
        maxDelayMs: 30_000,
        onCrash: (key, error) => log.error('reconcile crashed', { key, error }),
      },
    );
    this.services = new ResilientWatch<V1Service>(
      { kubeConfig, path: '/api/v1/services', list: () => this.core.listServiceForAllNamespaces(), log },
      {
        onChange: (service) => this.enqueue(service),
        onDelete: (service) => this.enqueue(service),
        onSynced: () => {
          this.servicesSynced = true;
          this.maybeLearn();
        },
      },
    );
    const fieldSelector = `metadata.name=${configMapName}`;
    this.configMaps = new ResilientWatch<V1ConfigMap>(
      {
        kubeConfig,
        path: `/api/v1/namespaces/${namespace}/configmaps`,
        list: () => this.core.listNamespacedConfigMap({ namespace, fieldSelector }),
        fieldSelector,
        log,
      },
      {
        onChange: (configMap) => this.loadConfig(configMap),
        onDelete: () =>
          log.warn('ConfigMap deleted; keeping the last good config', { configMap: configMapName }),
        onSynced: (items) => {
          if (items.length === 0) log.warn('waiting for ConfigMap', { namespace, configMap: configMapName });
        },
      },
    );
  }

  /** Ready for new work: the allocator knows every existing assignment. */
  get ready(): boolean {
    return this.learned;
  }

  start(): void {
    this.configMaps.start();
    this.services.start();
    this.ensureSecret(500);
  }

  async stop(): Promise<void> {
    clearTimeout(this.secretTimer);
    this.services.stop();
    this.configMaps.stop();
    this.queue.stop();
    await this.queue.idle();
  }

  private enqueue(service: V1Service): void {
    // Before learning, events are ignored: learning enqueues every Service anyway.
    if (this.learned) this.queue.add(serviceKey(service));
  }

  private loadConfig(configMap: V1ConfigMap): void {
    const result = this.loader.load(configMap.data?.['config'] ?? '');
    const target = { kind: 'ConfigMap' as const, metadata: configMap.metadata };
    if (result.kind === 'unchanged') return;
    if (result.kind === 'refused') {
      this.options.log.error('config refused; keeping the last good config', { errors: result.errors });
      this.events.record(target, 'Warning', 'InvalidConfig', result.errors.join('; '));
    } else {
      this.options.log.info('config loaded', { pools: result.config.pools.map((p) => p.name) });
      this.events.record(
        target,
        'Normal',
        'ConfigLoaded',
        `loaded ${result.config.pools.length} address pools`,
      );
      if (this.learned) for (const service of this.services.list()) this.queue.add(serviceKey(service));
      else this.maybeLearn();
    }
    this.metrics.configChanged(this.loader, this.allocator);
  }

  private maybeLearn(): void {
    if (this.learned || !this.servicesSynced || !this.loader.current) return;
    const services = this.services.list();
    const result = learnAssignments(services, this.allocator, this.options.loadBalancerClass);
    for (const { key, reason } of result.refused) {
      this.options.log.warn('cannot keep published address; it will be reassigned', { service: key, reason });
    }
    this.learned = true;
    this.metrics.configChanged(this.loader, this.allocator);
    this.options.log.info('learned existing assignments', {
      services: services.length,
      learned: result.learned,
    });
    for (const service of services) this.queue.add(serviceKey(service));
  }

  private async writeStatus(service: V1Service, ips: readonly string[]): Promise<void> {
    const { namespace = '', name = '' } = service.metadata ?? {};
    try {
      await this.core.patchNamespacedServiceStatus(
        {
          name,
          namespace,
          body: { status: { loadBalancer: { ingress: ips.length > 0 ? ips.map((ip) => ({ ip })) : null } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (error) {
      // Deleted meanwhile: its delete event will release the address.
      if (apiStatus(error) === 404) return;
      throw new Error(apiErrorMessage(error));
    }
  }

  private ensureSecret(delayMs: number): void {
    const { namespace, memberlistSecretName, log } = this.options;
    ensureMemberlistSecret(this.core, namespace, memberlistSecretName).then(
      (created) => log.info(created ? 'created memberlist secret' : 'memberlist secret present'),
      (error: unknown) => {
        log.warn('cannot ensure memberlist secret, retrying', {
          error: apiErrorMessage(error),
          retryInMs: delayMs,
        });
        this.secretTimer = setTimeout(() => this.ensureSecret(Math.min(delayMs * 2, 30_000)), delayMs);
      },
    );
  }
}

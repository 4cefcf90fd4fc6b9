/**
 * A real Kubernetes API server for acceptance tests: etcd plus the kube-apiserver binary that
 * scripts/setup.sh builds, both on loopback with free ports and all state in a fresh temp dir, set up
 * the way controller-runtime's envtest does it. No kubelet or controller-manager runs: tests create
 * Nodes and EndpointSlices themselves, while the apiserver still allocates ClusterIPs and NodePorts.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startDaemon, type Daemon } from './daemon.ts';
import { onExit } from './exit-cleanup.ts';
import { httpGet } from './http-get.ts';
import { kubeApiServerBinary } from './kube-apiserver-binary.ts';
import { freePorts } from './ports.ts';
import { waitFor } from './wait.ts';

const ETCD = '/usr/bin/etcd';
const KUBECTL = '/usr/bin/kubectl';
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const CLUSTER_NAME = 'metallb-ts-test';
const DEFAULT_READY_TIMEOUT_MS = 60_000;

export interface ApiServerOptions {
  /** Extra kube-apiserver flags (feature gates, admission plugins), after the harness's own. */
  readonly extraArgs?: readonly string[];
  /** How long etcd and kube-apiserver may take to become ready, each time one is (re)started. */
  readonly readyTimeoutMs?: number;
}

export interface KubectlOptions {
  readonly input?: string;
  readonly kubeconfig?: string;
}

export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
  /** The exit code; kubectl prints why it failed on stderr. */
  readonly code: number;
}

export interface ApiServer {
  /** `https://127.0.0.1:<port>`; stays the same across restartApiServer(). */
  readonly url: string;
  readonly etcdUrl: string;
  /** Bearer token of `admin`, a member of system:masters. */
  readonly adminToken: string;
  /** The apiserver's self-signed serving certificate chain: the CA to trust. */
  readonly caFile: string;
  /** A kubeconfig for the admin. */
  readonly kubeconfigPath: string;
  /** A scratch directory for the test's own files; removed by stop(). */
  readonly dir: string;
  /** PIDs of the children running right now (etcd, kube-apiserver). */
  pids(): number[];
  /** Writes a kubeconfig that authenticates as `user` with `token` (e.g. a ServiceAccount token). */
  /** `server` overrides the URL, for clients that reach the apiserver through a relay. */
  writeKubeconfig(path: string, token: string, user: string, server?: string): void;
  /**
   * Runs kubectl as the admin, or with another `kubeconfig` (see writeKubeconfig). `input` is its stdin
   * (for `apply -f -`). Resolves with the exit code rather than throwing when kubectl fails.
   */
  kubectl(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult>;
  /** kubectl that must succeed: resolves with stdout, or throws with kubectl's own stderr. */
  kubectlOk(args: readonly string[], options?: KubectlOptions): Promise<string>;
  /** Stops kube-apiserver only; etcd and all objects stay, clients see the API down. */
  stopApiServerOnly(): Promise<void>;
  /** Starts kube-apiserver again on the same port and certificate, and waits until it is ready. */
  restartApiServer(): Promise<void>;
  /** Stops both children (SIGTERM, then SIGKILL) and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const binary = kubeApiServerBinary();
  const [etcdClientPort, etcdPeerPort, securePort] = await freePorts(3);
  // freePorts(3) always yields three ports; the check satisfies noUncheckedIndexedAccess.
  if (etcdClientPort === undefined || etcdPeerPort === undefined || securePort === undefined) {
    throw new Error('no free ports');
  }
  const root = mkdtempSync(join(tmpdir(), 'metallb-ts-apiserver-'));
  const ports = { etcdClientPort, etcdPeerPort, securePort };
  const server = new LocalApiServer(binary, root, ports, options);
  try {
    await server.start();
    return server;
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * Registers node:test hooks that start one apiserver for the whole test file and always stop it, also
 * when a test fails. Call at the top level of a test file; call the returned getter inside tests.
 */
export function useApiServer(options: ApiServerOptions = {}): () => ApiServer {
  let server: ApiServer | undefined;
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  before(
    async () => {
      server = await startApiServer(options);
    },
    // Both children may need their full readiness time, plus the setup around them.
    { timeout: 2 * readyTimeoutMs + 10_000 },
  );
  after(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error('the apiserver is not running: use the getter inside a test');
    return server;
  };
}

interface Ports {
  readonly etcdClientPort: number;
  readonly etcdPeerPort: number;
  readonly securePort: number;
}

class LocalApiServer implements ApiServer {
  readonly url: string;
  readonly etcdUrl: string;
  readonly adminToken = randomBytes(24).toString('hex');
  readonly caFile: string;
  readonly kubeconfigPath: string;
  readonly dir: string;
  readonly #binary: string;
  readonly #root: string;
  readonly #ports: Ports;
  readonly #options: ApiServerOptions;
  readonly #readyTimeoutMs: number;
  readonly #logDir: string;
  #apiServerArgs: readonly string[] = [];
  #etcd: Daemon | undefined;
  #apiServer: Daemon | undefined;
  #stopped = false;
  readonly #forgetRootOnExit: () => void;

  constructor(binary: string, root: string, ports: Ports, options: ApiServerOptions) {
    this.#binary = binary;
    this.#root = root;
    this.#ports = ports;
    this.#options = options;
    this.#readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    this.#logDir = join(root, 'logs');
    this.url = `https://127.0.0.1:${ports.securePort}`;
    this.etcdUrl = `http://127.0.0.1:${ports.etcdClientPort}`;
    this.dir = join(root, 'scratch');
    this.caFile = join(root, 'certs', 'apiserver.crt');
    this.kubeconfigPath = join(root, 'admin.kubeconfig');
    this.#forgetRootOnExit = onExit(() => rmSync(root, { recursive: true, force: true }));
  }

  async start(): Promise<void> {
    // etcd creates its data dir itself, with the 0700 mode it insists on.
    for (const sub of ['logs', 'scratch', 'certs']) mkdirSync(join(this.#root, sub));
    await this.#startEtcd();
    this.#apiServerArgs = this.#writeApiServerConfig();
    await this.#startApiServer();
    this.writeKubeconfig(this.kubeconfigPath, this.adminToken, 'admin');
  }

  pids(): number[] {
    return [this.#etcd, this.#apiServer].flatMap((daemon) => (daemon?.isRunning() ? [daemon.pid] : []));
  }

  writeKubeconfig(path: string, token: string, user: string, server = this.url): void {
    // kubeconfig is YAML, and JSON is YAML.
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: CLUSTER_NAME, cluster: { server, 'certificate-authority': this.caFile } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: user, context: { cluster: CLUSTER_NAME, user } }],
      'current-context': user,
    };
    writeFileSync(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  }

  async kubectlOk(args: readonly string[], options?: KubectlOptions): Promise<string> {
    const result = await this.kubectl(args, options);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }

  kubectl(args: readonly string[], { input, kubeconfig }: KubectlOptions = {}): Promise<KubectlResult> {
    return new Promise((resolve, reject) => {
      // An explicit --kubeconfig makes kubectl ignore KUBECONFIG, so a developer's cluster is never used.
      const child = spawn(KUBECTL, ['--kubeconfig', kubeconfig ?? this.kubeconfigPath, ...args]);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', reject);
      child.once('close', (code) => resolve({ stdout, stderr, code: code ?? 1 }));
      child.stdin.end(input ?? '');
    });
  }

  async stopApiServerOnly(): Promise<void> {
    await this.#apiServer?.stop();
  }

  async restartApiServer(): Promise<void> {
    if (this.#stopped) throw new Error('the harness was stopped; start a new one');
    if (this.#apiServer?.isRunning()) await this.#apiServer.stop();
    await this.#startApiServer();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    // The apiserver first: stopping etcd under it only makes it log errors while shutting down.
    await this.#apiServer?.stop();
    await this.#etcd?.stop();
    rmSync(this.#root, { recursive: true, force: true });
    this.#forgetRootOnExit();
  }

  async #startEtcd(): Promise<void> {
    const peerUrl = `http://127.0.0.1:${this.#ports.etcdPeerPort}`;
    this.#etcd = await startDaemon({
      name: 'etcd',
      command: ETCD,
      args: [
        '--name=harness',
        `--data-dir=${join(this.#root, 'etcd')}`,
        `--listen-client-urls=${this.etcdUrl}`,
        `--advertise-client-urls=${this.etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=harness=${peerUrl}`,
        '--logger=zap',
        '--log-outputs=stderr',
        // Its info lines would crowd the log tail shown when something fails.
        '--log-level=warn',
      ],
      logFile: join(this.#logDir, 'etcd.log'),
    });
    await this.#waitReady(this.#etcd, 'etcd to report healthy', async () => {
      const { status, body } = await httpGet(`${this.etcdUrl}/health`);
      return status === 200 && (JSON.parse(body) as { health?: string }).health === 'true';
    });
  }

  /** Writes the keys and token file kube-apiserver reads, and returns its flags. */
  #writeApiServerConfig(): string[] {
    // The apiserver signs ServiceAccount tokens (TokenRequest) with this key and verifies them with
    // its public half, exactly as in a real cluster.
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const saPublicKey = join(this.#root, 'sa.pub');
    const saPrivateKey = join(this.#root, 'sa.key');
    const tokenFile = join(this.#root, 'tokens.csv');
    writeFileSync(saPublicKey, publicKey);
    writeFileSync(saPrivateKey, privateKey, { mode: 0o600 });
    // Static token file format: token,user,uid,"group1,group2".
    writeFileSync(tokenFile, `${this.adminToken},admin,admin,"system:masters"\n`, { mode: 0o600 });
    return [
      `--etcd-servers=${this.etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${this.#ports.securePort}`,
      // With no --tls-cert-file the apiserver creates a self-signed chain here, and reuses it on restart.
      `--cert-dir=${join(this.#root, 'certs')}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${saPublicKey}`,
      `--service-account-signing-key-file=${saPrivateKey}`,
      `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
      '--service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/112',
      '--service-node-port-range=30000-32767',
      // The `kubernetes` Service's Endpoints would point at 127.0.0.1, which validation refuses (loopback),
      // so the reconciler would log an error every 10 s. Nothing here routes to the apiserver via it.
      '--endpoint-reconciler-type=none',
      // As in envtest: no controller-manager creates each namespace's `default` ServiceAccount, so
      // this plugin would refuse every Pod.
      '--disable-admission-plugins=ServiceAccount',
      '--allow-privileged=true',
      ...(this.#options.extraArgs ?? []),
    ];
  }

  async #startApiServer(): Promise<void> {
    this.#apiServer = await startDaemon({
      name: 'kube-apiserver',
      command: this.#binary,
      args: this.#apiServerArgs,
      logFile: join(this.#logDir, 'kube-apiserver.log'),
    });
    await this.#waitReady(this.#apiServer, 'kube-apiserver /readyz', async () => {
      // The certificate appears in cert-dir shortly before the port opens; until then this throws.
      const { status } = await httpGet(`${this.url}/readyz`, {
        ca: readFileSync(this.caFile, 'utf8'),
        token: this.adminToken,
      });
      return status === 200;
    });
  }

  /**
   * Polls `ready` until it holds, and fails at once if the daemon exits meanwhile. The error carries
   * the log tail of the daemon that exited, or of both on a timeout: the cause is in one of them.
   */
  async #waitReady(daemon: Daemon, description: string, ready: () => Promise<boolean>): Promise<void> {
    try {
      await waitFor(async () => !daemon.isRunning() || (await ready()), {
        description,
        timeoutMs: this.#readyTimeoutMs,
        intervalMs: 100,
      });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${logTails([this.#etcd, this.#apiServer])}`, {
        cause: error,
      });
    }
    if (!daemon.isRunning()) {
      throw new Error(`${daemon.name} exited (${await daemon.exited}) before ready\n${logTails([daemon])}`);
    }
  }
}

function logTails(daemons: readonly (Daemon | undefined)[]): string {
  return daemons
    .flatMap((daemon) => (daemon ? [`--- ${daemon.name} log, last lines ---\n${daemon.logTail()}`] : []))
    .join('\n');
}

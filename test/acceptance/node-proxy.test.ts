/**
 * The node proxy on the real kernel. Two network namespaces joined by a veth pair: "node" runs
 * listeners on the NodePorts, each answering its own word, and the proxy's nftables table;
 * "client" routes the VIPs (which no interface holds) to the node and asks with socat. A VIP
 * answering with a NodePort's word is the redirect at work; without it the node drops the packet,
 * as it does not forward. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN), nft, socat and setpriv.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseIp } from '../../shared/ip/address.ts';
import { createLogger } from '../../shared/log.ts';
import { MetallbError } from '../../shared/errors.ts';
import { NftProxy, nftRunner } from '../../speaker/proxy/nft.ts';
import { removalRuleset, type ProxyTarget } from '../../speaker/proxy/ruleset.ts';
import { startDaemon, type Daemon } from '../harness/daemon.ts';
import { onExit } from '../harness/exit-cleanup.ts';
import { waitFor } from '../harness/wait.ts';

// Unique per run, so parallel runs and leftovers of a killed one never collide.
const PREFIX = `mtsp${process.pid}-`;
const NODE_NS = `${PREFIX}node`;
const CLIENT_NS = `${PREFIX}client`;
const NODE = { ipv4: '10.97.0.1', ipv6: 'fd00:97::1' };
const CLIENT = { ipv4: '10.97.0.2', ipv6: 'fd00:97::2' };
const VIPS = ['10.97.1.10', 'fd00:97:1::10'] as const;

interface PortMapping {
  readonly protocol: 'TCP' | 'UDP';
  readonly port: number;
  readonly nodePort: number;
}

/** Service port -> NodePort; each NodePort's listener answers `np-<NodePort>`. */
const PORTS: readonly PortMapping[] = [
  { protocol: 'TCP', port: 80, nodePort: 30080 },
  { protocol: 'TCP', port: 8080, nodePort: 30081 },
  { protocol: 'UDP', port: 53, nodePort: 30053 },
  { protocol: 'UDP', port: 5353, nodePort: 30054 },
];
/** A table someone else owns: it must come out of every operation exactly as it went in. */
const OTHER_TABLE = `table inet other {
  set blocked { type ipv4_addr; elements = { 192.0.2.1 } }
  chain input { type filter hook input priority filter; policy accept; ip saddr @blocked drop; }
}`;

/**
 * The NodePorts: one dual-stack socket per `PROTOCOL:PORT` argument, as kube-proxy's NodePorts answer
 * on every address, replying `np-<port>` to each connection or datagram. Node rather than socat, whose
 * forked UDP children share the socket and swallow datagrams meant for their parent.
 */
const NODEPORTS = `
const net = require('node:net');
const dgram = require('node:dgram');
for (const [protocol, port] of process.argv.slice(1).map((arg) => arg.split(':'))) {
  const word = 'np-' + port + '\\n';
  if (protocol === 'TCP') {
    net.createServer((socket) => socket.end(word)).listen({ port: Number(port), host: '::', ipv6Only: false });
  } else {
    const socket = dgram.createSocket({ type: 'udp6', ipv6Only: false });
    socket.on('message', (_message, peer) => socket.send(word, peer.port, peer.address));
    socket.bind(Number(port), '::');
  }
}`;

const exec = promisify(execFile);
const log = createLogger({ component: 'node-proxy-test' }, 'error');
const runInNode = nftRunner(['ip', 'netns', 'exec', NODE_NS, 'nft']);

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function inNode(command: string, ...args: string[]): Promise<string> {
  return (await exec('ip', ['netns', 'exec', NODE_NS, command, ...args], { timeout: 20_000 })).stdout;
}

function targets(ports: readonly PortMapping[]): ProxyTarget[] {
  return VIPS.flatMap((vip) =>
    ports.map(({ protocol, port, nodePort }) => ({ ip: parseIp(vip), protocol, port, nodePort })),
  );
}

/**
 * What the client gets back from address:port, '' when nothing answers. TCP: reads until the server
 * closes; UDP: sends one datagram and waits a second for the reply. No answer is a drop on the node
 * (it does not forward), so socat ends on its connect or inactivity timeout.
 */
async function ask(protocol: 'TCP' | 'UDP', address: string, port: number): Promise<string> {
  const family = address.includes(':') ? 6 : 4;
  const where = `${family === 6 ? `[${address}]` : address}:${port}`;
  const args =
    protocol === 'TCP'
      ? ['-T', '2', '-u', `TCP${family}:${where},connect-timeout=1`, 'STDOUT']
      : ['-T', '1', '-t', '1', 'STDIO', `UDP${family}:${where}`];
  const asking = exec('ip', ['netns', 'exec', CLIENT_NS, 'socat', ...args], { timeout: 10_000 });
  // Only the UDP client reads stdin; either may be gone before it does, and then its output says all.
  asking.child.stdin?.on('error', () => {});
  asking.child.stdin?.end(protocol === 'UDP' ? 'ping\n' : '');
  try {
    return (await asking).stdout.trim();
  } catch (error) {
    return String((error as { stdout?: unknown }).stdout ?? '').trim();
  }
}

type Port = Pick<PortMapping, 'protocol' | 'port'>;

/** Where `mappings` send a service port; undefined: nowhere. */
const via =
  (mappings: readonly PortMapping[]) =>
  ({ protocol, port }: Port): number | undefined =>
    mappings.find((m) => m.protocol === protocol && m.port === port)?.nodePort;
const nowhere = via([]);

/**
 * Asks every VIP on every port of PORTS and `extra` (all at once: each unanswered question costs a
 * timeout) and compares the replies with the NodePort `nodePortOf` says each should reach.
 */
async function assertAnswers(nodePortOf: (port: Port) => number | undefined, extra: readonly Port[] = []) {
  const questions = VIPS.flatMap((vip) =>
    [...PORTS, ...extra].map(({ protocol, port }) => ({ vip, protocol, port })),
  );
  const replies = await Promise.all(questions.map(({ vip, protocol, port }) => ask(protocol, vip, port)));
  const line = ({ vip, protocol, port }: (typeof questions)[number], reply: string | undefined): string =>
    `${protocol} ${vip} ${port} -> ${reply || '-'}`;
  assert.deepEqual(
    questions.map((question, i) => line(question, replies[i])),
    questions.map((question) => {
      const nodePort = nodePortOf(question);
      return line(question, nodePort === undefined ? '' : `np-${nodePort}`);
    }),
  );
}

const tables = async (): Promise<string> => inNode('nft', 'list', 'tables');
const otherTable = async (): Promise<string> => inNode('nft', 'list', 'table', 'inet', 'other');

describe('node proxy on the real kernel', () => {
  const created: string[] = [];
  let listener: Daemon | undefined;
  const logDir = mkdtempSync(join(tmpdir(), 'metallb-ts-node-proxy-'));
  let proxy: NftProxy | undefined;
  let otherBefore = '';

  // Synchronous, so it also runs from process 'exit' when the runner kills this file.
  // The listener registered its own exit hook (SIGKILL of its PID) with startDaemon.
  const cleanUp = (): void => {
    for (const ns of created.splice(0).reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Already gone.
      }
    }
    rmSync(logDir, { recursive: true, force: true });
  };
  const unregister = onExit(cleanUp);

  before(async () => {
    for (const ns of [NODE_NS, CLIENT_NS]) {
      ip('netns', 'add', ns);
      created.push(ns);
      // No Duplicate Address Detection: link-local addresses usable at once too.
      execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0']);
      execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0']);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    // Both ends are created inside the namespaces: nothing touches the host's own network.
    ip('-n', NODE_NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', CLIENT_NS);
    for (const [ns, host] of [
      [NODE_NS, NODE],
      [CLIENT_NS, CLIENT],
    ] as const) {
      ip('-n', ns, 'addr', 'add', `${host.ipv4}/24`, 'dev', 'eth0');
      ip('-n', ns, 'addr', 'add', `${host.ipv6}/64`, 'dev', 'eth0', 'nodad');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
    }
    // The VIPs live on no interface: the client sends them to the node, as a router or ARP would.
    ip('-n', CLIENT_NS, 'route', 'add', '10.97.1.0/24', 'via', NODE.ipv4);
    ip('-n', CLIENT_NS, '-6', 'route', 'add', 'fd00:97:1::/64', 'via', NODE.ipv6);
    execFileSync('ip', ['netns', 'exec', NODE_NS, 'nft', '-f', '-'], { input: OTHER_TABLE });
    otherBefore = await otherTable();
    listener = await startDaemon({
      name: 'nodeports',
      command: 'ip',
      args: [
        'netns',
        'exec',
        NODE_NS,
        process.execPath,
        '-e',
        NODEPORTS,
        ...PORTS.map(({ protocol, nodePort }) => `${protocol}:${nodePort}`),
      ],
      logFile: join(logDir, 'nodeports.log'),
    });
    for (const { protocol, nodePort } of PORTS) {
      for (const address of [NODE.ipv4, NODE.ipv6]) {
        await waitFor(async () => (await ask(protocol, address, nodePort)) === `np-${nodePort}`, {
          description: `the ${protocol} listener on ${address}:${nodePort} to answer the client`,
        });
      }
    }
  });

  after(async () => {
    await listener?.stop();
    cleanUp();
    unregister();
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.doesNotMatch(left, new RegExp(PREFIX), 'namespaces left behind');
  });

  it('has no path to the VIPs before the proxy starts', async () => {
    await assertAnswers(nowhere);
  });

  it('starts with an empty table of its own, beside the other table', async () => {
    proxy = await NftProxy.start({ log, run: runInNode });
    assert.deepEqual((await tables()).trim().split('\n').sort(), [
      'table inet metallb_ts',
      'table inet other',
    ]);
    await assertAnswers(nowhere);
  });

  it('forwards TCP and UDP, IPv4 and IPv6, two ports each, to the NodePorts', async () => {
    proxy!.setTargets(targets(PORTS));
    await proxy!.settled();
    assert.equal(proxy!.lastError, undefined);
    await assertAnswers(via(PORTS), [
      { protocol: 'TCP', port: 81 },
      { protocol: 'UDP', port: 54 },
    ]);
    // Traffic to the node's own addresses is not the proxy's business and still gets through.
    assert.equal(await ask('TCP', NODE.ipv4, 30080), 'np-30080');
    assert.equal(await ask('UDP', NODE.ipv6, 30054), 'np-30054');
  });

  it('follows a changed NodePort and forgets removed targets', async () => {
    const changed: PortMapping[] = [
      { protocol: 'TCP', port: 80, nodePort: 30081 },
      { protocol: 'UDP', port: 53, nodePort: 30053 },
    ];
    proxy!.setTargets(targets(changed));
    await proxy!.settled();
    await assertAnswers(via(changed));
  });

  it('yields to a DNAT another table makes for the same packet, as kube-proxy does for a VIP it handles', async () => {
    execFileSync('ip', ['netns', 'exec', NODE_NS, 'nft', '-f', '-'], {
      input: `table ip kubeproxy {
        chain prerouting {
          type nat hook prerouting priority dstnat; policy accept;
          ip daddr ${VIPS[0]} tcp dport 9090 dnat to ${NODE.ipv4}:30081
        }
      }`,
    });
    try {
      // Applied after the other table exists: our chain is the newer one, which the kernel would
      // run first at equal priority.
      proxy!.setTargets(targets([{ protocol: 'TCP', port: 9090, nodePort: 30080 }]));
      await proxy!.settled();
      assert.equal(await ask('TCP', VIPS[0], 9090), 'np-30081');
      assert.equal(await ask('TCP', VIPS[1], 9090), 'np-30080');
    } finally {
      await inNode('nft', 'delete', 'table', 'ip', 'kubeproxy');
    }
    assert.equal(await ask('TCP', VIPS[0], 9090), 'np-30080');
  });

  it('forwards nothing once told there is nothing to forward', async () => {
    proxy!.setTargets([]);
    await proxy!.settled();
    await assertAnswers(nowhere);
    assert.match(await tables(), /table inet metallb_ts/);
  });

  it("starts from scratch after a crash, dropping the crashed speaker's rules", async () => {
    proxy!.setTargets(targets(PORTS));
    await proxy!.settled();
    assert.equal(await ask('TCP', VIPS[0], 80), 'np-30080');
    // The old instance is abandoned without stop(), as a killed speaker would leave it.
    proxy = await NftProxy.start({ log, run: runInNode });
    await assertAnswers(nowhere);
  });

  it('removes its table on stop and leaves the other table as it was', async () => {
    proxy!.setTargets(targets(PORTS));
    await proxy!.settled();
    await proxy!.stop();
    assert.equal(proxy!.lastError, undefined);
    assert.equal((await tables()).trim(), 'table inet other');
    assert.equal(await otherTable(), otherBefore);
    await assertAnswers(nowhere);
    // Removing a table that is not there is no error.
    await runInNode(removalRuleset());
  });

  it('fails to start with NFT_FAILED, naming NET_ADMIN, when nft lacks the capability', async () => {
    const withoutNetAdmin = nftRunner([
      'ip',
      'netns',
      'exec',
      NODE_NS,
      'setpriv',
      '--bounding-set=-net_admin',
      'nft',
    ]);
    await assert.rejects(NftProxy.start({ log, run: withoutNetAdmin }), (error) => {
      assert.ok(error instanceof MetallbError, String(error));
      assert.equal(error.code, 'NFT_FAILED');
      assert.match(error.message, /Operation not permitted/);
      assert.match(error.message, /NET_ADMIN/);
      return true;
    });
    assert.equal((await tables()).trim(), 'table inet other');
    assert.equal(await otherTable(), otherBefore);
  });
});

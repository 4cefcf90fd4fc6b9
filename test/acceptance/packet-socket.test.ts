/**
 * The AF_PACKET addon and the ARP/NDP codecs on the real kernel. Two network namespaces joined by a
 * veth pair: "node" runs test/harness/layer2-responder.ts (which answers for 10.77.0.99 and
 * fd00:77::99 without owning them, as a speaker does), "client" asks with the stock Linux tools and
 * its own kernel's neighbour table. Node cannot switch namespaces, so the socket code runs in a
 * child started with `ip netns exec`. Needs root (CAP_NET_RAW, CAP_SYS_ADMIN) and the built addon.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import {
  openPacketSocket,
  PacketSocketError,
  type PacketSocketOptions,
} from '../../speaker/layer2/packet-socket.ts';
import { onExit } from '../harness/exit-cleanup.ts';
import { throwsCode } from '../harness/frame-fixtures.ts';

const RESPONDER = join(import.meta.dirname, '..', 'harness', 'layer2-responder.ts');
const PROJECT_ROOT = join(import.meta.dirname, '..', '..');
// Unique per run, so parallel runs and leftovers of a killed one never collide.
const NODE_NS = `mlbts-l2-${process.pid}-node`;
const CLIENT_NS = `mlbts-l2-${process.pid}-client`;
const NODE_IF = 'vn';
const CLIENT_IF = 'vc';
const VIP4 = '10.77.0.99';
const VIP6 = 'fd00:77::99';
const SOLICITED_NODE_MAC = '33:33:ff:00:00:99';
const FAKE_MACS = ['02:00:5e:77:99:01', '02:00:5e:77:99:02', '02:00:5e:77:99:03'] as const;

const exec = promisify(execFile);

/** Runs a command line; every argument here is free of spaces, so splitting on them is exact. */
async function run(commandLine: string): Promise<string> {
  const [command, ...args] = commandLine.split(' ') as [string, ...string[]];
  return (await exec(command, args, { timeout: 20_000 })).stdout;
}

/** Runs a command that may fail on purpose (ping with nobody to answer the echo). */
async function attempt(commandLine: string): Promise<void> {
  await run(commandLine).catch(() => undefined);
}

const inClient = (commandLine: string): Promise<string> => run(`ip netns exec ${CLIENT_NS} ${commandLine}`);
const neighbour = async (address: string): Promise<string> =>
  (await run(`ip -n ${CLIENT_NS} neigh show ${address} dev ${CLIENT_IF}`)).trim();
const nodeMulticastMacs = (): Promise<string> => run(`ip -n ${NODE_NS} maddr show dev ${NODE_IF}`);

interface ResponderEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

/** The responder child: its events as they come, and a way to wait for one. */
class Responder {
  readonly events: ResponderEvent[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: (() => void)[] = [];
  private stderr = '';

  constructor() {
    // `ip netns exec` execs the program, so child.pid is the responder's own PID.
    this.child = spawn(
      'ip',
      [
        'netns',
        'exec',
        NODE_NS,
        process.execPath,
        '--import',
        'tsx',
        RESPONDER,
        '--interface',
        NODE_IF,
        '--ipv4',
        VIP4,
        '--ipv6',
        VIP6,
      ],
      { cwd: PROJECT_ROOT },
    );
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.events.push(JSON.parse(line) as ResponderEvent);
      for (const wake of this.waiters) wake();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  command(command: string, mac: string): void {
    this.child.stdin.write(`${JSON.stringify({ command, mac })}\n`);
  }

  /** Ends stdin: the responder closes its sockets and should then exit by itself. */
  endInput(): void {
    this.child.stdin.end();
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  async waitFor(
    predicate: (event: ResponderEvent) => boolean,
    what: string,
    timeoutMs = 5000,
  ): Promise<ResponderEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0 || !this.running) {
        throw new Error(
          `responder: no ${what} event; events ${JSON.stringify(this.events)}; stderr ${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.waiters = [];
    }
  }
}

/** Polls `read` until it matches, for kernel state that settles asynchronously. */
async function eventually(read: () => Promise<string>, pattern: RegExp, timeoutMs = 2000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (pattern.test(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('packet socket on the real kernel', () => {
  let responder: Responder | undefined;
  let responderMac = '';
  const created: string[] = [];

  // Synchronous, so it also runs from process 'exit' when the runner kills this file.
  const cleanUp = (): void => {
    responder?.kill();
    for (const ns of created.splice(0).reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // Already gone.
      }
    }
  };
  const unregister = onExit(cleanUp);

  before(async () => {
    for (const ns of [NODE_NS, CLIENT_NS]) {
      await run(`ip netns add ${ns}`);
      created.push(ns);
      // No Duplicate Address Detection: addresses (link-local too) usable at once.
      await run(
        `ip netns exec ${ns} sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0`,
      );
    }
    // Both ends are created inside the namespaces: nothing touches the host's own network.
    await run(`ip -n ${CLIENT_NS} link add ${CLIENT_IF} type veth peer name ${NODE_IF} netns ${NODE_NS}`);
    await run(`ip -n ${CLIENT_NS} addr add 10.77.0.1/24 dev ${CLIENT_IF}`);
    await run(`ip -n ${CLIENT_NS} addr add fd00:77::1/64 dev ${CLIENT_IF} nodad`);
    // ARP updates to an entry younger than locktime are ignored unless gratuitous; 10 s (default 1 s)
    // covers the whole test, so an update seen there proves the kernel took ours as gratuitous.
    await run(`ip netns exec ${CLIENT_NS} sysctl -qw net.ipv4.neigh.${CLIENT_IF}.locktime=1000`);
    await run(`ip -n ${CLIENT_NS} link set ${CLIENT_IF} up`);
    await run(`ip -n ${NODE_NS} link set ${NODE_IF} up`);
    responder = new Responder();
    const ready = await responder.waitFor((e) => e.event === 'ready', 'ready', 15_000);
    responderMac = String(ready.mac);
  });

  after(async () => {
    cleanUp();
    unregister();
    const left = await run('ip netns list');
    assert.doesNotMatch(left, new RegExp(`mlbts-l2-${process.pid}-`), 'namespaces left behind');
  });

  it('answers ARP requests for the VIP with its own MAC (arping)', async () => {
    const output = await inClient(`arping -c 2 -I ${CLIENT_IF} ${VIP4}`);
    const replies = output.match(
      new RegExp(`bytes from ${responderMac} \\(${VIP4.replaceAll('.', '\\.')}\\)`, 'g'),
    );
    assert.equal(replies?.length, 2, output);
    // The 'arp' filter hands over requests only.
    const arp = responder!.events.filter((e) => e.event === 'arp');
    assert.ok(arp.length >= 2);
    assert.deepEqual(new Set(arp.map((e) => e.operation)), new Set(['request']));
  });

  it('joins the solicited-node group and answers Neighbor Solicitations (ping -6, ndisc6)', async () => {
    assert.match(await nodeMulticastMacs(), new RegExp(`link\\s+${SOLICITED_NODE_MAC}`));
    // The kernel resolves the VIP before sending the echo request, which nobody answers.
    await attempt(`ip netns exec ${CLIENT_NS} ping -6 -c 1 -W 1 ${VIP6}`);
    assert.match(await neighbour(VIP6), new RegExp(`lladdr ${responderMac} `));
    // ndisc6 only believes an advertisement sourced from the target address itself.
    const ndisc6 = await inClient(`ndisc6 -1 -r 3 -w 1000 ${VIP6} ${CLIENT_IF}`);
    assert.match(ndisc6, new RegExp(`Target link-layer address: ${responderMac.toUpperCase()}`));
    // The echo request reached the node's interface too; the 'ndp-ns' filter kept it from us.
    const ndp = responder!.events.filter((e) => e.event === 'ns' || e.event === 'decode-error');
    assert.ok(ndp.some((e) => e.target === VIP6));
    assert.deepEqual(new Set(ndp.map((e) => e.event)), new Set(['ns']));
  });

  it('moves an existing neighbour entry with gratuitous ARP, without arp_accept', async () => {
    await attempt(`ip netns exec ${CLIENT_NS} ping -c 1 -W 1 ${VIP4}`);
    assert.match(await neighbour(VIP4), new RegExp(`lladdr ${responderMac} `));
    // Within the locktime of that update: only what Linux's arp_is_garp() accepts gets through.
    for (const [command, mac] of [
      ['garp-reply', FAKE_MACS[0]],
      ['garp-request', FAKE_MACS[1]],
    ] as const) {
      responder!.command(command, mac);
      await responder!.waitFor((e) => e.event === 'sent' && e.command === command, command);
      assert.match(
        await eventually(() => neighbour(VIP4), new RegExp(mac)),
        new RegExp(`lladdr ${mac} `),
        command,
      );
    }
  });

  it('moves an existing IPv6 neighbour entry with an unsolicited advertisement', async () => {
    await attempt(`ip netns exec ${CLIENT_NS} ping -6 -c 1 -W 1 ${VIP6}`);
    assert.match(await neighbour(VIP6), /lladdr /);
    responder!.command('unsolicited-na', FAKE_MACS[2]);
    const entry = await eventually(() => neighbour(VIP6), new RegExp(FAKE_MACS[2]));
    assert.match(entry, new RegExp(`lladdr ${FAKE_MACS[2]} `));
  });

  it('reports ENETDOWN while the interface is down and resumes when it is up', async () => {
    await run(`ip -n ${NODE_NS} link set ${NODE_IF} down`);
    try {
      // Receive side: the kernel flags the bound socket once.
      const received = await responder!.waitFor((e) => e.event === 'receive-error', 'receive-error');
      assert.deepEqual([received.code, received.systemCode], ['PACKET_SOCKET_SYSCALL', 'ENETDOWN']);
      // Send side: a typed error, not a crash.
      responder!.command('garp-reply', FAKE_MACS[0]);
      const sent = await responder!.waitFor((e) => e.event === 'send-error', 'send-error');
      assert.deepEqual([sent.code, sent.systemCode], ['PACKET_SOCKET_SYSCALL', 'ENETDOWN']);
    } finally {
      await run(`ip -n ${NODE_NS} link set ${NODE_IF} up`);
    }
    // The same socket hears requests again without being reopened.
    const output = await inClient(`arping -c 5 -C 1 -I ${CLIENT_IF} ${VIP4}`);
    assert.match(output, new RegExp(`bytes from ${responderMac} `));
  });

  it('refuses bad arguments and unknown interfaces with typed errors', () => {
    const open = (options: Partial<PacketSocketOptions>): unknown =>
      openPacketSocket({ ifindex: 1, ethertype: 0x0806, ...options }, () => undefined);
    throwsCode(() => open({ ifindex: 0 }), 'PACKET_SOCKET_ARGUMENT', 'ifindex');
    throwsCode(() => open({ ethertype: 0x10000 }), 'PACKET_SOCKET_ARGUMENT', 'ethertype');
    throwsCode(() => open({ filter: 'bgp' as never }), 'PACKET_SOCKET_ARGUMENT', 'filter');
    // This process runs in the host's namespace, where no interface has this index.
    assert.throws(
      () => open({ ifindex: 0x7ffffff0 }),
      (error) =>
        error instanceof PacketSocketError && error.syscall === 'bind' && error.systemCode === 'ENODEV',
    );
  });

  it('close() releases the sockets and no longer holds the event loop', async () => {
    responder!.endInput();
    const closed = await responder!.waitFor((e) => e.event === 'closed', 'closed');
    const counters = closed as unknown as Record<'arp' | 'ndp', Record<string, number>>;
    assert.ok(counters.arp.received! >= 2 && counters.arp.sent! >= 2, JSON.stringify(closed));
    assert.ok(counters.ndp.received! >= 1 && counters.ndp.sent! >= 1, JSON.stringify(closed));
    // Nothing else keeps the responder alive: it must end by itself, cleanly.
    const code = await Promise.race([
      responder!.exited,
      new Promise((resolve) => setTimeout(resolve, 5000, 'still running').unref()),
    ]);
    assert.equal(code, 0);
    assert.doesNotMatch(await nodeMulticastMacs(), new RegExp(SOLICITED_NODE_MAC));
  });
});

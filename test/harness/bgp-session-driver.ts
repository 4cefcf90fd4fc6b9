/**
 * One BgpSession (speaker/bgp/session.ts) in a process of its own, for
 * test/acceptance/bgp-session-frr.test.ts. Node cannot enter a network namespace, so the test starts
 * this script inside one: `ip netns exec NS node --import tsx bgp-session-driver.ts CONFIG_JSON`.
 *
 * CONFIG_JSON: { peerAddress, localAddress?, myAsn, peerAsn, password?, holdTimeSeconds?,
 * restarting?, nextHop6?, routes: DriverRoute[] }.
 * Reports JSON lines on stdout ({"event": ..., "at": wall-clock ms}): started, state, established,
 * down, counters. Takes JSON commands on stdin: {"command": "setRoutes", "routes": [...]},
 * {"command": "counters"}, {"command": "stop", "reason": "shutdown" | "deconfigured"} (then exits).
 * SIGTERM stops the session with Administrative Shutdown and exits, as the speaker does.
 */
import { createInterface } from 'node:readline';
import { parseIp } from '../../shared/ip/address.ts';
import { createLogger } from '../../shared/log.ts';
import type { StopReason } from '../../speaker/bgp/fsm.ts';
import { BgpSession, type SessionRoute } from '../../speaker/bgp/session.ts';
import { parsePrefix } from '../../speaker/bgp/wire/prefix.ts';

export interface DriverRoute {
  readonly prefix: string;
  /** `a:b` strings. */
  readonly communities?: readonly string[];
  readonly largeCommunities?: readonly string[];
}

export interface DriverConfig {
  readonly peerAddress: string;
  readonly localAddress?: string;
  readonly myAsn: number;
  readonly peerAsn: number;
  readonly password?: string;
  readonly holdTimeSeconds?: number;
  readonly restarting?: boolean;
  readonly nextHop6?: string;
  readonly connectTimeoutMs?: number;
  readonly routes: readonly DriverRoute[];
}

const config = JSON.parse(process.argv[2] ?? '') as DriverConfig;

function report(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, at: Date.now(), ...fields })}\n`);
}

function toRoutes(routes: readonly DriverRoute[]): SessionRoute[] {
  const ebgp = config.myAsn !== config.peerAsn;
  return routes.map((route) => ({
    prefix: parsePrefix(route.prefix),
    attributes: {
      origin: 'igp',
      asPath: ebgp ? [config.myAsn] : [],
      communities: (route.communities ?? []).map((text) => {
        const [high, low] = text.split(':').map(Number) as [number, number];
        return high * 0x10000 + low;
      }),
      largeCommunities: (route.largeCommunities ?? []).map((text) => {
        const [globalAdmin, localData1, localData2] = text.split(':').map(Number) as [number, number, number];
        return { globalAdmin, localData1, localData2 };
      }),
    },
  }));
}

const session = new BgpSession({
  peerAddress: config.peerAddress,
  ...(config.localAddress ? { localAddress: config.localAddress } : {}),
  myAsn: config.myAsn,
  peerAsn: config.peerAsn,
  ...(config.password !== undefined ? { password: config.password } : {}),
  ...(config.holdTimeSeconds !== undefined ? { holdTimeSeconds: config.holdTimeSeconds } : {}),
  ...(config.connectTimeoutMs !== undefined ? { connectTimeoutMs: config.connectTimeoutMs } : {}),
  gracefulRestart: { restarting: config.restarting ?? false },
  ...(config.nextHop6 ? { nextHops: { 6: parseIp(config.nextHop6) } } : {}),
  log: createLogger({ driver: 'bgp-session' }, 'debug'),
});

session.on('state', (to, from) => report('state', { from, to }));
session.on('established', (negotiated) => report('established', { negotiated, counters: session.counters }));
session.on('down', (reason) =>
  report('down', {
    kind: reason.kind,
    message: reason.message,
    wasEstablished: reason.wasEstablished,
    retryInMs: reason.retryInMs,
  }),
);

let stopping = false;
async function stop(reason: StopReason): Promise<void> {
  if (stopping) return;
  stopping = true;
  await session.stop(reason);
  report('stopped', { counters: session.counters });
  process.exit(0);
}

process.once('SIGTERM', () => void stop('shutdown'));
createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as
    | { command: 'setRoutes'; routes: DriverRoute[] }
    | { command: 'counters' }
    | { command: 'stop'; reason: StopReason };
  switch (command.command) {
    case 'setRoutes':
      session.setRoutes(toRoutes(command.routes));
      report('counters', { counters: session.counters });
      return;
    case 'counters':
      report('counters', { counters: session.counters });
      return;
    case 'stop':
      void stop(command.reason);
      return;
  }
});

session.setRoutes(toRoutes(config.routes));
report('started');
session.start();

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Announcement, ServiceView } from '../../speaker/desired-state.ts';
import { proxyTargets } from '../../speaker/proxy/targets.ts';
import { formatIp, parseIp } from '../../shared/ip/address.ts';

const announcement = (ip: string, services: string[]): Announcement => ({
  ip: parseIp(ip),
  ipText: ip,
  pool: 'p',
  protocol: 'layer2',
  services,
  announcer: 'n1',
  advertisers: [],
});

const view = (key: string, ports: ServiceView['ports']): ServiceView => ({
  key,
  ips: [],
  ipTexts: [],
  trafficPolicy: 'Cluster',
  readyEndpointNodes: new Set(),
  hasReadyEndpoints: true,
  ports,
});

describe('node proxy targets', () => {
  it('maps every TCP/UDP port with a NodePort of every Service on a served address', () => {
    const views = new Map([
      [
        'ns/web',
        view('ns/web', [
          { protocol: 'TCP', port: 80, nodePort: 30080 },
          { protocol: 'TCP', port: 443, nodePort: 30443 },
        ]),
      ],
      ['ns/dns', view('ns/dns', [{ protocol: 'UDP', port: 53, nodePort: 30053 }])],
      // Shared address: both Services' ports.
      ['ns/other', view('ns/other', [{ protocol: 'TCP', port: 8080, nodePort: 31000 }])],
    ]);
    const targets = proxyTargets(
      [announcement('10.0.0.1', ['ns/other', 'ns/web']), announcement('fd00::1', ['ns/dns'])],
      views,
    );
    assert.deepEqual(
      targets.map((t) => `${formatIp(t.ip)} ${t.protocol} ${t.port}->${t.nodePort}`),
      [
        '10.0.0.1 TCP 8080->31000',
        '10.0.0.1 TCP 80->30080',
        '10.0.0.1 TCP 443->30443',
        'fd00::1 UDP 53->30053',
      ],
    );
  });

  it('leaves out ports without a NodePort, SCTP ports, and Services it has no view of', () => {
    const views = new Map([
      [
        'ns/a',
        view('ns/a', [
          { protocol: 'TCP', port: 80, nodePort: undefined },
          { protocol: 'SCTP', port: 9, nodePort: 30009 },
        ]),
      ],
    ]);
    assert.deepEqual(proxyTargets([announcement('10.0.0.1', ['ns/a', 'ns/gone'])], views), []);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { isOurs, serviceToRequest } from '../../controller/service-request.ts';
import { MetallbError } from '../../shared/errors.ts';
import { formatIp } from '../../shared/ip/address.ts';

function service(spec: V1Service['spec'] = {}, annotations: Record<string, string> = {}): V1Service {
  return {
    metadata: { namespace: 'ns', name: 'web', annotations },
    spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], ...spec },
  };
}

describe('serviceToRequest', () => {
  it('reads a plain LoadBalancer Service as a single-stack IPv4 request for any address', () => {
    assert.deepEqual(serviceToRequest(service()), {
      key: 'ns/web',
      families: { kind: 'single', family: 4 },
      requestedIps: [],
      pool: undefined,
      sharingKey: undefined,
      ports: [{ protocol: 'TCP', port: 80 }],
      backendKey: '',
    });
  });

  const annotationCases: [
    string,
    Record<string, string>,
    V1Service['spec'],
    (r: ReturnType<typeof serviceToRequest>) => unknown,
    unknown,
  ][] = [
    [
      'v0.12 loadBalancerIPs',
      { 'metallb.universe.tf/loadBalancerIPs': '10.0.0.1, 2001:db8::1' },
      {},
      (r) => r.requestedIps.map(formatIp),
      ['10.0.0.1', '2001:db8::1'],
    ],
    [
      'newer loadBalancerIPs',
      { 'metallb.io/loadBalancerIPs': '10.0.0.2' },
      {},
      (r) => r.requestedIps.map(formatIp),
      ['10.0.0.2'],
    ],
    [
      'spec.loadBalancerIP',
      {},
      { loadBalancerIP: '10.0.0.3' },
      (r) => r.requestedIps.map(formatIp),
      ['10.0.0.3'],
    ],
    [
      'both prefixes agreeing',
      { 'metallb.universe.tf/address-pool': 'a', 'metallb.io/address-pool': 'a' },
      {},
      (r) => r.pool,
      'a',
    ],
    ['sharing key', { 'metallb.universe.tf/allow-shared-ip': 'k' }, {}, (r) => r.sharingKey, 'k'],
    [
      'empty sharing key as none',
      { 'metallb.universe.tf/allow-shared-ip': '' },
      {},
      (r) => r.sharingKey,
      undefined,
    ],
    [
      'Local policy selector as backend key',
      {},
      { externalTrafficPolicy: 'Local', selector: { b: '2', a: '1' } },
      (r) => r.backendKey,
      'a=1,b=2',
    ],
    [
      'Cluster policy as empty backend key',
      {},
      { externalTrafficPolicy: 'Cluster', selector: { a: '1' } },
      (r) => r.backendKey,
      '',
    ],
    [
      'RequireDualStack',
      {},
      { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4'] },
      (r) => r.families,
      { kind: 'require-dual', primary: 6 },
    ],
    [
      'PreferDualStack on a dual-stack cluster',
      {},
      { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] },
      (r) => r.families,
      { kind: 'prefer-dual', primary: 4 },
    ],
    [
      'PreferDualStack on a single-stack cluster',
      {},
      { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6'] },
      (r) => r.families,
      { kind: 'single', family: 6 },
    ],
  ];
  for (const [name, annotations, spec, pick, expected] of annotationCases) {
    it(`reads ${name}`, () => assert.deepEqual(pick(serviceToRequest(service(spec, annotations))), expected));
  }

  const invalid: [string, Record<string, string>, V1Service['spec'], RegExp][] = [
    [
      'prefixes disagreeing',
      { 'metallb.universe.tf/address-pool': 'a', 'metallb.io/address-pool': 'b' },
      {},
      /disagree/,
    ],
    [
      'annotation and spec both set',
      { 'metallb.universe.tf/loadBalancerIPs': '10.0.0.1' },
      { loadBalancerIP: '10.0.0.1' },
      /not both/,
    ],
    [
      'three addresses',
      { 'metallb.universe.tf/loadBalancerIPs': '10.0.0.1,10.0.0.2,10.0.0.3' },
      {},
      /at most two/,
    ],
    [
      'a bad address',
      { 'metallb.universe.tf/loadBalancerIPs': '10.0.0.300' },
      {},
      /loadBalancerIPs: invalid IPv4 address 10\.0\.0\.300/,
    ],
  ];
  for (const [name, annotations, spec, message] of invalid) {
    it(`refuses ${name}`, () =>
      assert.throws(
        () => serviceToRequest(service(spec, annotations)),
        (e: unknown) => e instanceof MetallbError && e.code === 'SERVICE_INVALID' && message.test(e.message),
      ));
  }
});

describe('isOurs', () => {
  it('takes LoadBalancer Services of our class only', () => {
    assert.equal(isOurs(service(), undefined), true);
    assert.equal(isOurs(service({ type: 'ClusterIP' }), undefined), false);
    assert.equal(isOurs(service({ loadBalancerClass: 'x' }), undefined), false);
    assert.equal(isOurs(service({ loadBalancerClass: 'x' }), 'x'), true);
    assert.equal(isOurs(service(), 'x'), false);
  });
});

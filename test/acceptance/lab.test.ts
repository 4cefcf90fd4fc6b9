/**
 * The README's first command must keep working: run the lab once and check it shows what it
 * promises: EXTERNAL-IPs in `kubectl get svc`, who announces what, and curls from the client
 * answered in both modes (one owner at layer 2, several nodes through the router's ECMP).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const LAB = join(import.meta.dirname, '..', 'lab', 'lab.ts');

/** The nodes named by the curl answers printed under the step that mentions `ip`. */
function answeringNodes(stdout: string, ip: string): string[] {
  const section = stdout.slice(stdout.indexOf(`curl http://${ip}:8080/`));
  const block = section.slice(0, section.indexOf('\n\n'));
  return [...block.matchAll(/You've hit (node\d) \(NodePort \d+\/TCP\)/g)].map((m) => m[1]!);
}

test('the lab brings up both modes, curls through them, and tears down', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', LAB, '--once'], {
    timeout: 120_000,
  });
  assert.match(stdout, /exampleloadbalancerservice\s+LoadBalancer\s+\S+\s+10\.99\.0\.200\s+8080:30080\/TCP/);
  assert.match(stdout, /examplebgpservice\s+LoadBalancer\s+\S+\s+10\.100\.0\.1\s+8080:30081\/TCP/);
  const owner = /10\.99\.0\.200 \(layer 2\): the client's neighbour entry -> (node\d)/.exec(stdout)?.[1];
  assert.ok(owner, stdout);
  assert.match(
    stdout,
    new RegExp(`exampleloadbalancerservice\\s+announcing from node "${owner}" with protocol "layer2"`),
  );
  for (const next of ['10.99.0.11', '10.99.0.12', '10.99.0.13'])
    assert.match(stdout, new RegExp(`\\* ${next}, via eth0`));

  const layer2 = answeringNodes(stdout, '10.99.0.200');
  assert.deepEqual(layer2, Array(9).fill(owner), 'every layer-2 connection answered by the owner');
  const bgp = answeringNodes(stdout, '10.100.0.1');
  assert.equal(bgp.length, 9, 'every BGP connection answered');
  assert.ok(new Set(bgp).size >= 2, `ECMP spreads connections: ${bgp.join(' ')}`);
  assert.match(stdout, /lab stopped; nothing left behind/);
});

/**
 * The README's first command must keep working: run the lab once and check it shows what it
 * promises (seed-001 address in EXTERNAL-IP, the pending Service and why, the hand-over).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const LAB = join(import.meta.dirname, '..', 'lab', 'lab.ts');

test('the lab brings up the seed-001 demo and tears down', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', LAB, '--once'], {
    timeout: 120_000,
  });
  assert.match(stdout, /exampleloadbalancerservice\s+LoadBalancer\s+\S+\s+192\.168\.1\.251\s+8080:\d+\/TCP/);
  assert.match(stdout, /fourth\s+LoadBalancer\s+\S+\s+<pending>/);
  assert.match(stdout, /AllocationFailed .*no available addresses/);
  assert.match(stdout, /fourth\s+LoadBalancer\s+\S+\s+192\.168\.1\.252/);
  assert.match(stdout, /lab stopped; nothing left behind/);
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LastGoodConfig } from '../../shared/config/last-good.ts';
import { ConfigErrors, MetallbError } from '../../shared/errors.ts';

const GOOD = 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [10.0.0.0/30]\n';
const OTHER = GOOD.replace('name: a', 'name: b');

describe('last good config', () => {
  it('applies a good config, then reports the same text as unchanged', () => {
    const loader = new LastGoodConfig();
    assert.equal(loader.load(GOOD).kind, 'applied');
    assert.equal(loader.load(GOOD).kind, 'unchanged');
    assert.equal(loader.current?.pools[0]?.name, 'a');
  });

  it('keeps the old config and marks it stale when the new text does not parse', () => {
    const loader = new LastGoodConfig();
    loader.load(GOOD);
    const result = loader.load('address-pools: [{name: x}]');
    assert.equal(result.kind, 'refused');
    assert.ok(result.kind === 'refused' && result.errors.some((e) => /address-pools\[0\]/.test(e)));
    assert.equal(loader.current?.pools[0]?.name, 'a');
    assert.equal(loader.stale, true);
    assert.equal(loader.load(OTHER).kind, 'applied');
    assert.equal(loader.stale, false);
  });

  it('keeps the old config when the owner refuses the new one', () => {
    const loader = new LastGoodConfig((config) => {
      if (config.pools[0]?.name === 'b')
        throw new ConfigErrors([new MetallbError('CONFIG_IN_USE', 'in use')]);
    });
    loader.load(GOOD);
    assert.deepEqual(loader.load(OTHER), { kind: 'refused', errors: ['in use'] });
    assert.equal(loader.current?.pools[0]?.name, 'a');
  });
});

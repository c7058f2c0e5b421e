import { expect } from 'chai';
import { ManifestError } from '../../../src/index.ts';
import { AppHarness, sleep } from '../../support/app-harness.ts';
import { waitFor } from '../../support/cli.ts';

const manifest = `
app:
  id: seed
  version: '1'
  graphs:
    - subscribes: order.scheduled
      activities:
        schedule:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
            key:
              '@pipe':
                - ['{$self.input.data.color}', '{$self.input.data.primacy}', '{$self.input.data.size}']
                - ['{@string.concat}']
            measures:
              - { measure: count, target: '{$self.input.data.color}' }
              - { measure: sum, target: '{$self.input.data.price}' }
              - { measure: avg, target: '{$self.input.data.price}' }
              - { measure: index, target: '{$self.input.data.color}' }
              - { measure: index, target: '{$self.input.data.primacy}' }
        route:
          type: hook
          job:
            maps:
              facility: '{$self.hook.data.facility}'
              updates:
                '@pipe':
                  - ['{$self.hook.data.step}', 0]
                  - ['{@conditional.nullish}']
        fulfill:
          type: hook
          job: { maps: { fulfilled: true } }
      transitions:
        schedule: [ { to: route } ]
        route:
          - to: fulfill
            conditions: { code: 200 }
      hooks:
        order.routed:
          - to: route
            conditions:
              match:
                - expected: '{schedule.output.data.id}'
                  actual: '{$self.hook.data.id}'
    - subscribes: signal.one.test
      activities:
        s0: { type: trigger }
        progress:
          type: signal
          subtype: one
          topic: order.routed
          code: 202
          signal: { maps: { id: '{s0.output.data.target}', facility: partial, step: 1 } }
        finish:
          type: signal
          subtype: one
          topic: order.routed
          signal: { maps: { id: '{s0.output.data.target}', facility: acme, step: 2 } }
      transitions:
        s0: [ { to: progress } ]
        progress: [ { to: finish } ]
`;

describe('signals and statistics', function () {
  this.timeout(60_000);
  let harness: AppHarness;
  before(async () => { harness = await AppHarness.start(); });
  after(async () => { await harness?.close(); });

  it('keeps a hook open on 202 and resolves it on 200', async () => {
    const hotMesh = await harness.deployed(manifest);
    await hotMesh.pub('order.scheduled', { id: 'ord-1', color: 'red', primacy: 'primary', size: 'lg', price: 10 });
    await sleep(200);
    await hotMesh.hook('order.routed', { id: 'ord-1', facility: 'partial', step: 1 }, 'pending', 202);
    await sleep(300);
    expect(await hotMesh.getStatus('ord-1')).to.equal(1);
    expect((await hotMesh.getState('ord-1')).data.facility).to.equal('partial');
    await hotMesh.hook('order.routed', { id: 'ord-1', facility: 'acme', step: 2 });
    await waitFor(async () => (await hotMesh.getStatus('ord-1')) === 0, 5000, 'the hook to resolve');
    expect((await hotMesh.getState('ord-1')).data).to.deep.equal({ facility: 'acme', updates: 2, fulfilled: true });
  });

  it('signals one job from a signal activity, pending then success', async () => {
    const hotMesh = await harness.deployed(manifest);
    await hotMesh.pub('order.scheduled', { id: 'ord-2', color: 'blue', primacy: 'backup', size: 'sm', price: 30 });
    await sleep(200);
    const signaller = await hotMesh.pubsub('signal.one.test', { target: 'ord-2' });
    expect(signaller.metadata.js).to.equal(0);
    await waitFor(async () => (await hotMesh.getStatus('ord-2')) === 0, 5000, 'the signalled job');
    expect((await hotMesh.getState('ord-2')).data).to.deep.equal({ facility: 'acme', updates: 2, fulfilled: true });
  });

  it('counts, sums, averages and indexes jobs by key', async () => {
    const hotMesh = await harness.deployed(manifest);
    for (let i = 0; i < 81; i++) await hotMesh.pub('order.scheduled', { id: `ord_${1001 + i}`, color: 'red', primacy: 'primary', size: 'lg', price: i });
    const stats = await hotMesh.getStats('order.scheduled', { data: { color: 'red', primacy: 'primary', size: 'lg' }, range: '1h' });
    expect(stats.key).to.equal('redprimarylg');
    expect(stats.count).to.equal(82);
    expect(stats.measures['count:color:red']).to.equal(82);
    expect(stats.measures['sum:price']).to.equal(10 + (80 * 81) / 2);
    expect(stats.measures['avg:price']).to.be.closeTo((10 + (80 * 81) / 2) / 82, 1e-9);
    expect(stats.segments).to.have.length(13);
    const ids = await hotMesh.getIds('order.scheduled', { data: { color: 'red', primacy: 'primary', size: 'lg' } }, ['color:red', 'primacy:primary']);
    expect(ids.map((entry) => [entry.facet, entry.count])).to.deep.equal([['color:red', 82], ['primacy:primary', 82]]);
    expect(ids[0].ids).to.include('ord_1054');
  });

  it('rejects a duplicate id among many jobs', async () => {
    const hotMesh = await harness.deployed(manifest);
    try {
      await hotMesh.pub('order.scheduled', { id: 'ord_1002', color: 'red', primacy: 'primary', size: 'lg', price: 1 });
      expect.fail('expected a duplicate');
    } catch (error) {
      expect((error as Error).name).to.equal('DuplicateJobError');
    }
  });

  const badManifests: Array<[string, string, string]> = [
    ['unknown activity type', manifest.replace('type: hook\n          job:\n            maps:\n              facility', 'type: hok\n          job:\n            maps:\n              facility'), 'E_UNKNOWN_ACTIVITY_TYPE'],
    ['missing transition target', manifest.replace('- to: fulfill', '- to: fulfil'), 'E_TRANSITION_TO'],
    ['unquoted version', manifest.replace("version: '1'", 'version: 1.10'), 'E_VERSION_NOT_STRING'],
    ['unknown reference', manifest.replace('{schedule.output.data.id}', '{schedul.output.data.id}'), 'E_UNKNOWN_ACTIVITY_REF'],
    ['duplicate activity id', manifest.replace('        finish:', '        progress:'), 'E_YAML'],
    ['unknown function', manifest.replace('{@string.concat}', '{@string.glue}'), 'E_UNKNOWN_FUNCTION'],
  ];
  for (const [name, text, rule] of badManifests) {
    it(`writes nothing for ${name}`, async () => {
      const fresh = await AppHarness.start();
      try {
        const hotMesh = await fresh.hotMesh('seed', [], { engine: false });
        try {
          await hotMesh.deploy(text);
          expect.fail('expected a ManifestError');
        } catch (error) {
          expect(error).to.be.instanceOf(ManifestError);
          expect((error as ManifestError).rule).to.equal(rule);
          expect((error as ManifestError).file).to.equal('<inline>');
        }
        const client = fresh.redis.client();
        expect(await client.keys('*')).to.deep.equal([]);
        client.disconnect();
      } finally {
        await fresh.close();
      }
    });
  }
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { hotMeshAppCrd, hotMeshWorkerCrd, renderCrds } from '../../../src/operator/api/index.ts';

const crdsDir = join(import.meta.dirname, '..', '..', '..', 'crds');

describe('crds/', function () {
  for (const { file, text } of renderCrds()) {
    it(`${file} matches the schemas in src/operator/api`, function () {
      let current = '';
      try {
        current = readFileSync(join(crdsDir, file), 'utf8');
      } catch {
        // missing: the comparison below fails with the hint
      }
      expect(current === text, `crds/${file} is stale; run npm run crds and commit the result`).to.equal(true);
    });
  }

  it('preserves unknown fields only in the pod template', function () {
    const found: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        if (key === 'x-kubernetes-preserve-unknown-fields') found.push(path);
        walk(value, `${path}.${key}`);
      }
    };
    walk(hotMeshAppCrd().spec.versions[0].schema, 'app');
    walk(hotMeshWorkerCrd().spec.versions[0].schema, 'worker');
    expect(found).to.deep.equal(['worker.openAPIV3Schema.properties.spec.properties.template']);
  });

  it('exposes the worker scale subresource', function () {
    const scale = hotMeshWorkerCrd().spec.versions[0].subresources?.scale;
    expect(scale).to.deep.equal({ specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' });
  });
});

// Helpers shared by the operator e2e suites.
import { join } from 'node:path';
import { expect } from 'chai';
import { kubectl, type ControlPlane } from '../../support/cluster/e2e.ts';

const crdsDir = join(import.meta.dirname, '..', '..', '..', 'crds');
let installed: Promise<void> | undefined;

/** Applies crds/ to the shared control plane once and waits until both are established. */
export async function installCrds(plane: ControlPlane): Promise<void> {
  installed ??= (async () => {
    const applied = await kubectl(plane, ['apply', '--server-side', '-f', crdsDir]);
    expect(applied.code, applied.stderr).to.equal(0);
    const established = await kubectl(plane, ['wait', '--for=condition=Established', 'crd/hotmeshapps.hotmesh.io', 'crd/hotmeshworkers.hotmesh.io', '--timeout=30s']);
    expect(established.code, established.stderr).to.equal(0);
  })();
  await installed;
}

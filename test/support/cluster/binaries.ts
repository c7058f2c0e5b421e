// Locates the control-plane binaries that test/cluster/build.sh builds, and
// reports why they are missing when they are.
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Repository root, two folders above test/support/cluster. */
export const repoRoot = join(import.meta.dirname, '..', '..', '..');

const clusterDir = join(repoRoot, 'test', 'cluster');

/** Names of the binaries in the cache's bin folder. */
export type BinaryName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kubectl' | 'helm';

const binaryNames: BinaryName[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl', 'helm'];

/**
 * Returns the k8s.io/kubernetes version that test/cluster/kube/go.mod
 * requires, which also names the cache folder.
 */
export function kubernetesVersion(): string {
  const goMod = readFileSync(join(clusterDir, 'kube', 'go.mod'), 'utf8');
  const match = /^\s*k8s\.io\/kubernetes\s+(v\S+)/m.exec(goMod);
  if (!match) throw new Error(`test/cluster/kube/go.mod has no k8s.io/kubernetes requirement`);
  return match[1];
}

/** Returns the folder that contains the built binaries. build.sh uses the same rule. */
export function binDir(): string {
  const cache = process.env.HOTMESH_CLUSTER_CACHE
    || join(homedir(), '.cache', 'hotmesh-operator', 'control-plane', kubernetesVersion());
  return join(cache, 'bin');
}

/** Returns the path of one built binary, whether or not it exists yet. */
export function binaryPath(name: BinaryName): string {
  return join(binDir(), name);
}

export function kubectlPath(): string {
  return binaryPath('kubectl');
}

export function helmPath(): string {
  return binaryPath('helm');
}

/**
 * Checks that every control-plane binary exists and is executable. The
 * reason names the first missing file and the command that builds it.
 */
export function binariesBuilt(): { ok: boolean; reason?: string } {
  let dir: string;
  try {
    dir = binDir();
  } catch (error) {
    return { ok: false, reason: `cannot locate the control-plane binaries: ${(error as Error).message}` };
  }
  for (const name of binaryNames) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
    } catch {
      return {
        ok: false,
        reason: `${path} is missing; run \`npm run cluster:build\` (needs Go, about 7 min on 2 cores) to build the test control plane`,
      };
    }
  }
  return { ok: true };
}

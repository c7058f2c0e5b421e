// Copies crds/*.yaml, which `npm run crds` generates, into the Helm chart's
// crds/ folder and config/crd/bases/, because Helm and kustomize read only
// files inside their own folder. With --check it writes nothing and exits 1
// when a copy differs or a stray file is left.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');

/** The generated CRD folder and every folder that keeps a copy of it. */
export const CRD_SOURCE_DIR = join(root, 'crds');
export const CRD_COPY_DIRS = [join(root, 'charts', 'hotmesh-operator', 'crds'), join(root, 'config', 'crd', 'bases')];

function yamlFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((file) => file.endsWith('.yaml')).sort();
  } catch {
    return [];
  }
}

/** Lists each difference between crds/ and its copies as a sentence. The list is empty when they match. */
export function crdCopyDifferences(): string[] {
  const differences: string[] = [];
  const sources = yamlFiles(CRD_SOURCE_DIR);
  for (const dir of CRD_COPY_DIRS) {
    const name = relative(root, dir);
    const copies = yamlFiles(dir);
    for (const file of sources) {
      if (!copies.includes(file)) differences.push(`${name}/${file} is missing`);
      else if (readFileSync(join(dir, file), 'utf8') !== readFileSync(join(CRD_SOURCE_DIR, file), 'utf8')) differences.push(`${name}/${file} differs from crds/${file}`);
    }
    for (const file of copies) {
      if (!sources.includes(file)) differences.push(`${name}/${file} has no source in crds/`);
    }
  }
  return differences;
}

function copyAll(): void {
  const sources = yamlFiles(CRD_SOURCE_DIR);
  for (const dir of CRD_COPY_DIRS) {
    mkdirSync(dir, { recursive: true });
    for (const file of yamlFiles(dir)) {
      if (!sources.includes(file)) rmSync(join(dir, file));
    }
    for (const file of sources) writeFileSync(join(dir, file), readFileSync(join(CRD_SOURCE_DIR, file)));
  }
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const differences = crdCopyDifferences();
    for (const difference of differences) process.stderr.write(`${difference}: run node scripts/copy-crds.ts\n`);
    if (differences.length > 0) process.exitCode = 1;
  } else {
    copyAll();
  }
}

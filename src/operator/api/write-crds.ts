// Writes crds/*.yaml from the schemas in this folder: `npm run crds`.
// With --check it writes nothing and exits 1 when a file is stale.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrds } from './render.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const dir = join(root, 'crds');
const check = process.argv.includes('--check');
let stale = 0;
mkdirSync(dir, { recursive: true });
for (const { file, text } of renderCrds()) {
  const path = join(dir, file);
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // a missing file is stale
  }
  if (current === text) continue;
  stale++;
  if (check) process.stderr.write(`crds/${file} is stale; run npm run crds\n`);
  else writeFileSync(path, text);
}
if (check && stale > 0) process.exitCode = 1;

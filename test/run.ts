// Runs every test suite with mocha and prints one closing line of counts.
// Suites that need the test control plane skip themselves, with the reason,
// when its binaries have not been built.
import Mocha from 'mocha';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname);
const tiers = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['unit', 'functional', 'e2e'];

function findTests(dir: string): string[] {
  let found: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const entry of entries.sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found = found.concat(findTests(path));
    else if (entry.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const mocha = new Mocha({ timeout: 60_000, reporter: 'spec' });
for (const tier of tiers) {
  for (const file of findTests(join(root, tier))) mocha.addFile(file);
}
if (process.env.MOCHA_GREP) mocha.grep(process.env.MOCHA_GREP);

await mocha.loadFilesAsync();
const runner = mocha.run((failures) => {
  const stats = runner.stats;
  const passed = stats?.passes ?? 0;
  const skipped = stats?.pending ?? 0;
  console.log(`\ntests: ${passed} passed, ${failures} failed, ${skipped} skipped`);
  console.log(`suites run from: ${tiers.map((tier) => relative(process.cwd(), join(root, tier))).join(', ')}`);
  process.exitCode = failures > 0 ? 1 : 0;
  // HOTMESH_TEST_HANDLES=1 lists what would keep the process alive, to find
  // a suite that leaves a connection, server or timer open.
  if (process.env.HOTMESH_TEST_HANDLES === '1') {
    setTimeout(() => {
      type Handle = { constructor: { name: string }; remoteAddress?: string; remotePort?: number; fd?: number; _handle?: { fd?: number }; address?: () => unknown; pid?: number };
      const handles = (process as unknown as { _getActiveHandles(): Handle[] })._getActiveHandles();
      for (const handle of handles) {
        const fd = handle.fd ?? handle._handle?.fd;
        if (fd === 1 || fd === 2) continue;
        let where = '';
        if (handle.remoteAddress) where = ` to ${handle.remoteAddress}:${handle.remotePort}`;
        else if (handle.pid) where = ` pid ${handle.pid}`;
        else if (handle.address) where = ` at ${JSON.stringify(handle.address())}`;
        console.log(`still open after the run: ${handle.constructor.name}${where}`);
      }
      // Timers are not handles; one is the runner's own exit timer below.
      const timers = process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length - 1;
      if (timers > 0) console.log(`still open after the run: ${timers} timer(s)`);
    }, 400);
  }
  // Like mocha's --exit: a connection or timer left open by a suite must not
  // keep the run alive after every root hook has cleaned up.
  setTimeout(() => process.exit(failures > 0 ? 1 : 0), 500);
});

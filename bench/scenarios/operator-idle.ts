// Scenario: resident memory of a process that has loaded the operator's
// module and sat idle for `idleMs`. It does not start a reconcile loop,
// because the operator has no entry point that the bench can call yet.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { scenarioMain } from '../lib/processes.ts';

export interface OperatorIdleParams {
  idleMs: number;
}

scenarioMain(async (params: OperatorIdleParams): Promise<{ rss: number; entry: string }> => {
  const entry = join(import.meta.dirname, '..', '..', 'src', 'operator', 'index.ts');
  await import(pathToFileURL(entry).href);
  await new Promise((resolve) => setTimeout(resolve, params.idleMs));
  return { rss: process.memoryUsage.rss(), entry: 'src/operator/index.ts' };
});

// Scenario: resident memory of the operator, idle. The process runs the
// operator's reconcilers in local mode on config/samples/ (one HotMeshApp,
// two HotMeshWorkers polled every 2 s), waits until the app is Ready, then
// sits for `idleMs` while the backlog pollers run. The worker and engine
// replicas it starts are separate processes and are not counted.
import { join } from 'node:path';
import { createLogger } from '../../src/logger.ts';
import { LocalOperator } from '../../src/operator/local/local-operator.ts';
import { scenarioMain } from '../lib/processes.ts';

export interface OperatorIdleParams {
  idleMs: number;
  redisUrl: string;
}

scenarioMain(async (params: OperatorIdleParams): Promise<{ rss: number; entry: string }> => {
  const operator = new LocalOperator({
    folder: join(import.meta.dirname, '..', '..', 'config', 'samples'),
    redisUrl: params.redisUrl,
    logger: createLogger({}, 'error'),
  });
  operator.start();
  try {
    const deadline = Date.now() + 30_000;
    const ready = (): boolean => operator.cluster.listApps().some((app) => app.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'));
    while (!ready()) {
      if (Date.now() > deadline) throw new Error('the sample HotMeshApp did not become Ready within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, params.idleMs));
    return { rss: process.memoryUsage.rss(), entry: 'src/operator/local/local-operator.ts on config/samples' };
  } finally {
    await operator.stop();
  }
});

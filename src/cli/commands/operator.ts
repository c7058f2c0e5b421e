import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../../logger.ts';
import { parseListenAddress } from '../../operator/kube/probe-server.ts';
import { Operator } from '../../operator/manager.ts';
import { UsageError } from '../cli-error.ts';

export const usage = `usage: hotmesh operator [options]
  Runs the controller manager until SIGTERM: reconciles HotMeshApps, and
  HotMeshWorkers with their worker Deployments scaled from the stream backlog.

  --kubeconfig PATH           kubeconfig file; default KUBECONFIG, else the in-cluster config
  --namespace NS              watch one namespace; default all namespaces
  --health-addr HOST:PORT     /healthz and /readyz; 0 turns it off (default 127.0.0.1:8081)
  --metrics-addr HOST:PORT    Prometheus /metrics; 0 turns it off (default 127.0.0.1:8080)
  --leader-elect              run only while holding the Lease hotmesh-operator
  --leader-election-namespace NS   namespace of the Lease (default POD_NAMESPACE, else default)
  --lease-duration S          seconds a Lease is valid without renewal (default 15)
  --renew-deadline S          seconds the leader keeps trying to renew (default 10)
  --retry-period S            seconds between tries to acquire or renew (default 2)
  --engine-image IMAGE        image of the app engine pods (default HOTMESH_ENGINE_IMAGE, else hotmesh-operator:latest)
  --watch-timeout S           server-side watch timeout, spread by ±50% (default 300)
  --watch-idle-timeout S      reconnect a watch silent for this long (default 90)
  --relist-interval S         full list of each watched resource this often (default 600)
  --resync-period S           reconcile each Ready app this often, to repair Redis drift (default 300)`;

function seconds(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback * 1000;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${flag} must be a positive number of seconds; got ${JSON.stringify(text)}`);
  return value * 1000;
}

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else if (process.env.KUBECONFIG) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromCluster();
  return kubeConfig;
}

function podNamespace(): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return 'default';
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'health-addr': { type: 'string', default: '127.0.0.1:8081' },
      'metrics-addr': { type: 'string', default: '127.0.0.1:8080' },
      'leader-elect': { type: 'boolean', default: false },
      'leader-election-namespace': { type: 'string' },
      'lease-duration': { type: 'string' },
      'renew-deadline': { type: 'string' },
      'retry-period': { type: 'string' },
      'engine-image': { type: 'string' },
      'watch-timeout': { type: 'string' },
      'watch-idle-timeout': { type: 'string' },
      'relist-interval': { type: 'string' },
      'resync-period': { type: 'string' },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`operator takes no arguments; got ${positionals.join(' ')}; see hotmesh operator --help`);

  let healthAddress;
  let metricsAddress;
  try {
    healthAddress = parseListenAddress(values['health-addr'], '--health-addr');
    metricsAddress = parseListenAddress(values['metrics-addr'], '--metrics-addr');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const logger = createLogger({ role: 'operator' });
  const identity = `${process.env.POD_NAME ?? hostname()}-${process.pid}`;
  let exitCode = 0;
  let finish: (() => void) | undefined;
  const finished = new Promise<void>((resolve) => { finish = resolve; });

  const operator = await Operator.start({
    kubeConfig: loadKubeConfig(values.kubeconfig),
    namespace: values.namespace,
    healthAddress,
    metricsAddress,
    engineImage: values['engine-image'] ?? process.env.HOTMESH_ENGINE_IMAGE ?? 'hotmesh-operator:latest',
    logger,
    leaderElection: values['leader-elect']
      ? {
        namespace: values['leader-election-namespace'] ?? podNamespace(),
        name: 'hotmesh-operator',
        identity,
        leaseDurationMs: seconds(values['lease-duration'], '--lease-duration', 15),
        renewDeadlineMs: seconds(values['renew-deadline'], '--renew-deadline', 10),
        retryPeriodMs: seconds(values['retry-period'], '--retry-period', 2),
      }
      : undefined,
    appResyncMs: seconds(values['resync-period'], '--resync-period', 300),
    watch: {
      timeoutSeconds: seconds(values['watch-timeout'], '--watch-timeout', 300) / 1000,
      idleTimeoutMs: seconds(values['watch-idle-timeout'], '--watch-idle-timeout', 90),
      relistIntervalMs: seconds(values['relist-interval'], '--relist-interval', 600),
    },
    onLeadershipLost: () => {
      exitCode = 1;
      finish?.();
    },
  });
  logger.info('operator started', { ...operator.addresses, leaderElect: values['leader-elect'], namespace: values.namespace ?? '(all)' });

  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info('signal received; stopping', { signal });
    finish?.();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await finished;
  await operator.stop();
  return exitCode;
}

// Leader election on a coordination.k8s.io/v1 Lease, in the manner of
// client-go's. The holder renews every retry period. A candidate takes the
// lease once it has seen no renewal for the lease duration. The Lease's
// resourceVersion makes every takeover a compare-and-swap, so a 409 loses.
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { httpStatus } from './api-errors.ts';
import { WakeableSleep } from './backoff.ts';
import { microTime } from './micro-time.ts';

/** Options of a {@link LeaderElector}. */
export interface LeaderElectionOptions {
  client: CoordinationV1Api;
  namespace: string;
  /** Lease name. */
  name: string;
  /** This process's identity in the Lease. */
  identity: string;
  /** How long a lease is valid without renewal, ms. @default 15000 */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up, ms. @default 10000 */
  renewDeadlineMs?: number;
  /** Time between two tries to acquire or renew, ms. @default 2000 */
  retryPeriodMs?: number;
  logger: Logger;
  /** Called once this process becomes the leader. */
  onStartedLeading(): void;
  /** Called once when a leader loses the lease or stops. */
  onStoppedLeading(): void;
  /** Called with 1 while leading and 0 otherwise, for leader_election_master_status. */
  onStatus?(leading: boolean): void;
}

/** Runs the acquire-and-renew loop until {@link stop}. */
export class LeaderElector {
  private readonly options: Required<Omit<LeaderElectionOptions, 'onStatus'>> & Pick<LeaderElectionOptions, 'onStatus'>;
  private leading = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly sleeper = new WakeableSleep();
  private observedRecord = '';
  private observedAt = 0;
  private lastRenewAt = 0;

  constructor(options: LeaderElectionOptions) {
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = options.retryPeriodMs ?? 2000;
    if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > 1.2 * retryPeriodMs)) {
      throw new Error(`invalid leader election timing: need lease duration (${leaseDurationMs} ms) > renew deadline (${renewDeadlineMs} ms) > 1.2 × retry period (${retryPeriodMs} ms)`);
    }
    this.options = { ...options, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts trying to acquire the lease in the background. */
  start(): void {
    this.options.onStatus?.(false);
    this.loop ??= this.run();
  }

  /** Stops; a leader releases the lease so another candidate can take it at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.wake();
    await this.loop;
    if (this.leading) {
      await this.release().catch((error: unknown) => this.options.logger.warn('lease release failed', { lease: this.options.name, err: (error as Error).message }));
      this.setLeading(false);
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let renewed = false;
      try {
        renewed = await this.tryAcquireOrRenew();
      } catch (error) {
        this.options.logger.debug('lease update failed', { lease: this.options.name, err: (error as Error).message });
      }
      if (renewed) {
        this.lastRenewAt = Date.now();
        if (!this.leading) this.setLeading(true);
      } else if (this.leading && Date.now() - this.lastRenewAt > this.options.renewDeadlineMs) {
        this.options.logger.error('leader lease lost: not renewed within the renew deadline', { lease: this.options.name, renewDeadlineMs: this.options.renewDeadlineMs });
        this.setLeading(false);
      }
      await this.sleeper.sleep(this.options.retryPeriodMs);
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.options.onStatus?.(leading);
    if (leading) {
      this.options.logger.info('became leader', { lease: this.options.name, identity: this.options.identity });
      this.options.onStartedLeading();
    } else {
      this.options.logger.info('stopped leading', { lease: this.options.name, identity: this.options.identity });
      this.options.onStoppedLeading();
    }
  }

  // Returns true when this process holds the lease after the call.
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.options;
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await client.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (httpStatus(error) !== 404) throw error;
      await client.createNamespacedLease({ namespace, body: this.record(undefined, now) });
      return true;
    }
    const spec = lease.spec ?? {};
    // Expiry is judged by when this process saw the record change, not by the
    // holder's clock, so clock skew between processes cannot shorten a lease.
    const recordText = `${spec.holderIdentity ?? ''}|${String(spec.renewTime ?? '')}`;
    if (recordText !== this.observedRecord) {
      this.observedRecord = recordText;
      this.observedAt = Date.now();
    }
    const holder = spec.holderIdentity ?? '';
    const expired = holder === '' || Date.now() > this.observedAt + (spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== identity && !expired) return false;
    const body = this.record(lease, now);
    try {
      await client.replaceNamespacedLease({ name, namespace, body });
    } catch (error) {
      if (httpStatus(error) === 409) return false;
      throw error;
    }
    return true;
  }

  private record(current: V1Lease | undefined, now: Date): V1Lease {
    const spec = current?.spec ?? {};
    const takeover = spec.holderIdentity !== this.options.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.options.name, namespace: this.options.namespace, resourceVersion: current?.metadata?.resourceVersion },
      spec: {
        holderIdentity: this.options.identity,
        leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
        acquireTime: takeover ? microTime(now) : microTime(new Date(spec.acquireTime ?? now)),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover && current ? 1 : 0),
      },
    };
  }

  private async release(): Promise<void> {
    const { client, namespace, name } = this.options;
    const lease = await client.readNamespacedLease({ name, namespace });
    if (lease.spec?.holderIdentity !== this.options.identity) return;
    lease.spec = {
      ...lease.spec,
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: lease.spec.acquireTime ? microTime(new Date(lease.spec.acquireTime)) : undefined,
      renewTime: lease.spec.renewTime ? microTime(new Date(lease.spec.renewTime)) : undefined,
    };
    await client.replaceNamespacedLease({ name, namespace, body: lease });
  }
}

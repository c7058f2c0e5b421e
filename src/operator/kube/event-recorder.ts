// Kubernetes Events (events.k8s.io/v1) about our objects. Events are a
// record for people, never state: a failed write is logged and dropped.
import type { EventsV1Api, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { microTime } from './micro-time.ts';

/** Normal or Warning, as Kubernetes defines them. */
export type EventType = 'Normal' | 'Warning';

/** Options of an {@link EventRecorder}. */
export interface EventRecorderOptions {
  client: EventsV1Api;
  /** reportingController, e.g. hotmesh.io/operator. */
  controller: string;
  /** reportingInstance: this process. */
  instance: string;
  logger: Logger;
  /** The same event on the same object is written at most once in this window, ms. @default 600000 */
  repeatWindowMs?: number;
}

export class EventRecorder {
  private readonly options: EventRecorderOptions;
  private readonly recent = new Map<string, number>();

  constructor(options: EventRecorderOptions) {
    this.options = options;
  }

  /**
   * Writes an Event about `object`. An identical one within the repeat
   * window is skipped unless `skipRepeatCheck` is set, which records that
   * get an Event every time (scale decisions) use.
   */
  async emit(object: KubernetesObject, type: EventType, reason: string, action: string, note: string, options: { skipRepeatCheck?: boolean } = {}): Promise<void> {
    const uid = object.metadata?.uid ?? '';
    const dedupKey = `${uid}|${type}|${reason}|${note}`;
    const now = Date.now();
    const last = this.recent.get(dedupKey);
    if (!options.skipRepeatCheck && last !== undefined && now - last < (this.options.repeatWindowMs ?? 600_000)) return;
    this.recent.set(dedupKey, now);
    if (this.recent.size > 10_000) this.prune(now);

    const namespace = object.metadata?.namespace ?? 'default';
    try {
      await this.options.client.createNamespacedEvent({
        namespace,
        body: {
          // Named like client-go's events: the object's name and a unique hex suffix.
          metadata: { name: `${object.metadata?.name ?? 'object'}.${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`, namespace },
          eventTime: microTime(new Date(now)),
          type,
          reason,
          action,
          note: note.slice(0, 1024),
          reportingController: this.options.controller,
          reportingInstance: this.options.instance,
          regarding: { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata?.name, namespace, uid, resourceVersion: object.metadata?.resourceVersion },
        },
      });
    } catch (error) {
      this.options.logger.warn('event write failed', { namespace, name: object.metadata?.name, reason, err: (error as Error).message });
    }
  }

  private prune(now: number): void {
    for (const [key, at] of this.recent) {
      if (now - at >= (this.options.repeatWindowMs ?? 600_000)) this.recent.delete(key);
    }
  }
}

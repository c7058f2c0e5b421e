// Records what a client-node Watch delivers, so a test can wait for events
// and for the done callback.
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

/** One event of a watch stream. */
export interface RecordedEvent {
  type: string;
  object: KubernetesObject & { code?: number; reason?: string; message?: string };
}

export class WatchRecorder {
  readonly events: RecordedEvent[] = [];
  /** Resolves with the value passed to the done callback, which is an error or null on a clean close. */
  readonly done: Promise<unknown>;
  private doneCalled = false;
  private controller?: AbortController;
  private resolveDone!: (error: unknown) => void;

  private constructor() {
    this.done = new Promise((resolve) => { this.resolveDone = resolve; });
  }

  /** Starts a watch on `path` (for example /api/v1/namespaces/x/configmaps) with the given query. */
  static async start(kubeConfig: KubeConfig, path: string, query: Record<string, string> = {}): Promise<WatchRecorder> {
    const recorder = new WatchRecorder();
    recorder.controller = await new Watch(kubeConfig).watch(
      path,
      query,
      (type, object) => { recorder.events.push({ type, object }); },
      (error) => {
        recorder.doneCalled = true;
        recorder.resolveDone(error);
      },
    );
    return recorder;
  }

  get finished(): boolean {
    return this.doneCalled;
  }

  /** Returns the names of the objects in events of `type`, in order. */
  names(type: string): string[] {
    return this.events.filter((event) => event.type === type).map((event) => event.object.metadata?.name ?? '');
  }

  /** Returns the resourceVersion of the last event that carried one. */
  lastResourceVersion(): string | undefined {
    for (let index = this.events.length - 1; index >= 0; index -= 1) {
      const version = this.events[index].object.metadata?.resourceVersion;
      if (version) return version;
    }
    return undefined;
  }

  /** Aborts the request. The done callback may or may not be called. */
  stop(): void {
    this.controller?.abort();
  }
}

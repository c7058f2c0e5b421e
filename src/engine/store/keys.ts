// The only place Redis key and channel names are built. Every key of an app
// carries the app id as a Redis Cluster hash tag, `{appId}`, so one app lives
// on one cluster slot and its scripts may touch all of its keys.

/** Default namespace in front of every key. */
export const DEFAULT_KEY_PREFIX = 'hmsh';

/** Consumer group that engines use on the engine stream. */
export const ENGINE_GROUP = 'ENGINE';
/** Consumer group that workers use on each worker stream. */
export const WORKER_GROUP = 'WORKER';

const APP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Tells whether an app id is usable in keys (letters, digits, `-`, `_`). */
export function isValidAppId(appId: string): boolean {
  return APP_ID_PATTERN.test(appId);
}

/** Key and channel names of one app. */
export class AppKeys {
  readonly prefix: string;
  readonly appId: string;
  private readonly base: string;

  constructor(appId: string, prefix: string = DEFAULT_KEY_PREFIX) {
    this.appId = appId;
    this.prefix = prefix;
    this.base = `${prefix}:{${appId}}`;
  }

  /** Hash: active version, version records (`v:<version>`), live job counts (`live:<version>`). */
  app(): string { return `${this.base}:app`; }

  /** String: a compiled version, JSON. */
  version(version: string): string { return `${this.base}:v:${version}`; }

  /** Hash: the state of one job. */
  job(jobId: string): string { return `${this.base}:j:${jobId}`; }

  /** Stream read by the app's engines (group ENGINE). */
  engineStream(): string { return `${this.base}:x:`; }

  /** Stream of one worker topic (group WORKER). */
  workerStream(topic: string): string { return `${this.base}:x:${topic}`; }

  /** Hash: `<stream>|<id>` → job id of every job message not yet acknowledged. */
  inflight(): string { return `${this.base}:inflight`; }

  /** Stream of messages that exhausted their deliveries. */
  deadLetterStream(): string { return `${this.base}:dlq`; }

  /** Sorted set of durable timers: member = message, score = due time in ms. */
  timers(): string { return `${this.base}:t`; }

  /** Hash: throttle settings persisted for processes that start later: `*`, `topic:<t>`, `guid:<g>` → ms (-1 pauses). */
  throttles(): string { return `${this.base}:r`; }

  /** Sorted set of process ids by last heartbeat, ms. */
  processes(): string { return `${this.base}:procs`; }

  /** String with a TTL: one live process's profile, JSON. */
  process(guid: string): string { return `${this.base}:p:${guid}`; }

  /** Hash: parked webhook hooks, field `<hookTopic>:<key>` → the hook's address. */
  signals(): string { return `${this.base}:sig`; }

  /** List: signals that arrived before their hook parked, for one registration field. */
  earlySignals(field: string): string { return `${this.base}:sig:${field}`; }

  /** List: ids of a job's child jobs, for interrupts that descend. */
  dependents(jobId: string): string { return `${this.base}:d:${jobId}`; }

  /** Hash: statistics of one job key in one time bucket. */
  stats(jobKey: string, bucket: string): string { return `${this.base}:s:${jobKey}:${bucket}`; }

  /** List: ids of jobs with one indexed value, in one time bucket. */
  statsIndex(jobKey: string, bucket: string, path: string, value: string): string {
    return `${this.base}:s:${jobKey}:${bucket}:index:${path}:${value}`;
  }

  /** Pattern matching every key of the app, for deletion. */
  pattern(): string { return `${this.base}:*`; }

  /** Channel every engine and worker of the app subscribes to. */
  quorumChannel(): string { return `${this.base}:q:`; }

  /** Channel of one process (pubsub replies, targeted messages). */
  processChannel(guid: string): string { return `${this.base}:q:@${guid}`; }

  /** Channel on which a job's completion and emits are published. */
  jobChannel(publishes: string, jobId: string): string { return `${this.base}:q:${publishes}.${jobId}`; }

  /** Channel or pattern for user subscriptions (`sub`, `psub`). */
  topicChannel(topic: string): string { return `${this.base}:q:${topic}`; }

  /** Strips the app's channel prefix, returning the topic part. */
  topicOfChannel(channel: string): string {
    const head = `${this.base}:q:`;
    return channel.startsWith(head) ? channel.slice(head.length) : channel;
  }
}

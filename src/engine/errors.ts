/**
 * Base class of every error the engine throws on purpose. `code` is stable
 * and safe to branch on; the message is for people.
 */
export class HotMeshError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Location of a problem in a manifest. */
export interface ManifestLocation {
  /** The file, or `<inline>` for a manifest given as a string. */
  file: string;
  /** The YAML path, e.g. `app.graphs[0].activities.a1.type`. */
  path: string;
  /** 1-based line, when the YAML source is known. */
  line?: number;
}

/** A single rule a manifest breaks. */
export interface ManifestIssue extends ManifestLocation {
  /** Stable rule id, e.g. `E_UNKNOWN_ACTIVITY_TYPE`. */
  rule: string;
  message: string;
}

/**
 * Thrown when an app manifest is invalid: YAML syntax, a broken rule of the
 * graph language, or a mapping that names an unknown function. Nothing has
 * been written to Redis when it is thrown. `issues` lists every problem
 * found; the message shows the first ones.
 */
export class ManifestError extends HotMeshError {
  readonly issues: ManifestIssue[];

  constructor(issues: ManifestIssue[]) {
    super(issues[0]?.rule ?? 'E_MANIFEST', formatIssues(issues));
    this.issues = issues;
  }

  get file(): string { return this.issues[0].file; }
  get path(): string { return this.issues[0].path; }
  get line(): number | undefined { return this.issues[0].line; }
  get rule(): string { return this.issues[0].rule; }
}

/** Formats one issue as `file:line: path: message [rule]`. */
export function formatIssue(issue: ManifestIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  const path = issue.path === '' ? '' : ` ${issue.path}:`;
  return `${where}:${path} ${issue.message} [${issue.rule}]`;
}

function formatIssues(issues: ManifestIssue[]): string {
  const shown = issues.slice(0, 5).map(formatIssue);
  if (issues.length > 5) shown.push(`… and ${issues.length - 5} more`);
  return shown.join('\n');
}

/** Thrown by `pub` when a job with the same id exists already. */
export class DuplicateJobError extends HotMeshError {
  readonly appId: string;
  readonly jobId: string;

  constructor(appId: string, jobId: string) {
    super('E_DUPLICATE_JOB', `job ${jobId} already exists in app ${appId}; choose another id or wait until it expires`);
    this.appId = appId;
    this.jobId = jobId;
  }
}

/** Thrown when a job id is not found (never created, expired or scrubbed). */
export class JobNotFoundError extends HotMeshError {
  readonly appId: string;
  readonly jobId: string;

  constructor(appId: string, jobId: string) {
    super('E_JOB_NOT_FOUND', `job ${jobId} not found in app ${appId}`);
    this.appId = appId;
    this.jobId = jobId;
  }
}

/** Thrown when a deployed version's content differs from what is being deployed. */
export class VersionConflictError extends HotMeshError {
  readonly appId: string;
  readonly version: string;
  readonly deployedDigest: string;
  readonly digest: string;

  constructor(appId: string, version: string, deployedDigest: string, digest: string) {
    super(
      'E_VERSION_CONFLICT',
      `version ${version} of app ${appId} is already deployed with other content ` +
        `(deployed ${deployedDigest}, new ${digest}); versions are immutable, so give the change a new version`,
    );
    this.appId = appId;
    this.version = version;
    this.deployedDigest = deployedDigest;
    this.digest = digest;
  }
}

/** Thrown when activating, or running a job on, a version that was never deployed. */
export class VersionNotDeployedError extends HotMeshError {
  readonly appId: string;
  readonly version: string;

  constructor(appId: string, version: string) {
    super('E_VERSION_NOT_DEPLOYED', `version ${version} of app ${appId} is not deployed; deploy it first`);
    this.appId = appId;
    this.version = version;
  }
}

/** Thrown when an app has no active version yet. */
export class NoActiveVersionError extends HotMeshError {
  readonly appId: string;

  constructor(appId: string) {
    super('E_NO_ACTIVE_VERSION', `app ${appId} has no active version; deploy and activate one first`);
    this.appId = appId;
  }
}

/** Thrown by `pub` when no graph of the active version subscribes to the topic. */
export class UnknownTopicError extends HotMeshError {
  readonly appId: string;
  readonly version: string;
  readonly topic: string;

  constructor(appId: string, version: string, topic: string) {
    super('E_UNKNOWN_TOPIC', `no graph of app ${appId} version ${version} subscribes to topic ${topic}`);
    this.appId = appId;
    this.version = version;
    this.topic = topic;
  }
}

/** Thrown by `hook` when no hook rule of the active version listens to the topic. */
export class UnknownHookTopicError extends HotMeshError {
  readonly appId: string;
  readonly version: string;
  readonly topic: string;

  constructor(appId: string, version: string, topic: string) {
    super('E_UNKNOWN_HOOK_TOPIC', `no hook rule of app ${appId} version ${version} listens to topic ${topic}; nothing could ever receive this signal`);
    this.appId = appId;
    this.version = version;
    this.topic = topic;
  }
}

/** Rejects a `pubsub` whose job did not finish within the timeout; the job keeps running. */
export class JobTimeoutError extends HotMeshError {
  readonly jobId: string;
  readonly timeoutMs: number;
  /** HotMesh's code for a client-side timeout. */
  readonly status = 504;

  constructor(jobId: string, timeoutMs: number) {
    super('E_JOB_TIMEOUT', `job ${jobId} did not finish within ${timeoutMs} ms; it keeps running`);
    this.jobId = jobId;
    this.timeoutMs = timeoutMs;
  }
}

/** Rejects a `pubsub` whose job ended with an error. */
export class JobFailedError extends HotMeshError {
  readonly jobId: string;
  /** The job error's numeric code, e.g. 500 or 422. */
  readonly status: number;
  /** The job error as stored in `metadata.err`. */
  readonly error: Record<string, unknown>;

  constructor(jobId: string, error: Record<string, unknown>) {
    const message = typeof error.message === 'string' ? error.message : 'job failed';
    super('E_JOB_FAILED', message);
    this.jobId = jobId;
    this.status = typeof error.code === 'number' ? error.code : 500;
    this.error = error;
  }
}

/** Thrown when a method is called in a lifecycle state that does not allow it. */
export class IllegalStateError extends HotMeshError {
  constructor(message: string) {
    super('E_ILLEGAL_STATE', message);
  }
}

/** Thrown when an option or argument is invalid; names the option and the value. */
export class ConfigError extends HotMeshError {
  constructor(message: string) {
    super('E_CONFIG', message);
  }
}

/**
 * Tells whether an error is worth retrying: a lost connection, a Redis that is
 * loading its data or busy with a script. Everything else is terminal.
 */
export function isTransientError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const message = error.message;
  if (/^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)\b/.test(message)) return true;
  if (/Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|MaxRetriesPerRequestError|Reached the max retries/.test(message)) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN'].includes(code);
}

/** Tells whether a Redis error reports that the consumer group or its stream is missing. */
export function isNoGroupError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOGROUP');
}

import type { Redis } from 'ioredis';
import type { Logger } from 'winston';
import { isNoGroupError, isTransientError } from '../errors.ts';
import { faultPoint } from '../faults.ts';

/** One message read from a stream. */
export interface StreamMessage {
  id: string;
  /** The JSON payload in field `m`. */
  payload: string;
  /** How many times the message has been delivered, when known (reclaimed messages). */
  deliveries?: number;
}

/** Settings of one consumer loop. */
export interface StreamConsumerOptions {
  stream: string;
  group: string;
  consumer: string;
  /** Messages handled at once. @default 10 */
  concurrency?: number;
  /** XREADGROUP BLOCK, ms: how long one read waits for news. @default 5000 */
  blockMs?: number;
  /** A pending message idle this long belongs to a dead consumer and is reclaimed, ms. @default 60000 */
  reclaimIdleMs?: number;
  /** How often to look for stalled messages, ms. @default reclaimIdleMs / 2 */
  reclaimIntervalMs?: number;
  /** Deliveries after which a message is dead-lettered instead of handled again. @default 5 */
  maxDeliveries?: number;
  /** Pause before each read, ms; -1 pauses reading entirely. @default 0 */
  throttleMs?: number;
}

/** What a consumer does with its messages; the handler acknowledges each one itself. */
export interface StreamHandlers {
  /** Handles one message. It acknowledges the message in the same script that commits its effect. */
  handle(message: StreamMessage): Promise<void>;
  /** Handles a message that was delivered `maxDeliveries` times without being acknowledged. */
  deadLetter(message: StreamMessage): Promise<void>;
  /** Called when the group or stream had to be created again (Redis lost its data). */
  groupRecreated?(): void;
  /** Handles a pending message that was trimmed or deleted before anyone acknowledged it. */
  lost?(streamId: string): Promise<void>;
}

/** Lifecycle of a consumer loop. */
export type ConsumerState = 'idle' | 'running' | 'draining' | 'stopped';

const MAX_BACKOFF_MS = 10_000;

/**
 * Reads one stream through a consumer group with bounded concurrency. The
 * blocking read runs on its own connection; stopping unblocks it with
 * CLIENT UNBLOCK, so no message is left half-delivered.
 */
export class StreamConsumer {
  readonly options: Required<StreamConsumerOptions>;
  private readonly commands: Redis;
  private readonly reader: Redis;
  private readonly handlers: StreamHandlers;
  private readonly logger: Logger;
  private state: ConsumerState = 'idle';
  private readerId: number | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  private reclaimTimer: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  /** Ids of the messages being handled, kept claimed so peers do not take them. */
  private readonly inHand = new Set<string>();
  private reclaiming = false;
  private slotWaiter: (() => void) | undefined;
  private throttleWaiter: (() => void) | undefined;

  constructor(commands: Redis, handlers: StreamHandlers, options: StreamConsumerOptions, logger: Logger) {
    const reclaimIdleMs = options.reclaimIdleMs ?? 60_000;
    this.options = {
      stream: options.stream,
      group: options.group,
      consumer: options.consumer,
      concurrency: options.concurrency ?? 10,
      blockMs: options.blockMs ?? 5000,
      reclaimIdleMs,
      reclaimIntervalMs: options.reclaimIntervalMs ?? Math.max(100, Math.floor(reclaimIdleMs / 2)),
      maxDeliveries: options.maxDeliveries ?? 5,
      throttleMs: options.throttleMs ?? 0,
    };
    this.commands = commands;
    this.reader = commands.duplicate({ lazyConnect: true, maxRetriesPerRequest: null });
    this.reader.on('error', (error: Error) => this.logger.debug('stream reader connection error', { stream: options.stream, err: error.message }));
    // A reconnect gives the reader a new client id, which CLIENT UNBLOCK needs.
    this.reader.on('ready', () => {
      this.reader.client('ID').then((id) => { this.readerId = Number(id); }, () => undefined);
    });
    this.handlers = handlers;
    this.logger = logger.child({ stream: options.stream, group: options.group, consumer: options.consumer });
  }

  get currentState(): ConsumerState {
    return this.state;
  }

  /** Messages being handled right now. */
  get busy(): number {
    return this.inFlight.size;
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`stream consumer for ${this.options.stream} cannot start: it is ${this.state}`);
    await this.reader.connect();
    this.readerId = Number(await this.reader.client('ID'));
    await this.ensureGroup();
    this.state = 'running';
    this.loop = this.run();
    this.reclaimTimer = setInterval(() => void this.reclaim(), this.options.reclaimIntervalMs);
    this.reclaimTimer.unref();
    this.keepAliveTimer = setInterval(() => void this.keepAlive(), Math.max(100, Math.floor(this.options.reclaimIdleMs / 3)));
    this.keepAliveTimer.unref();
  }

  /** Changes the pause before each read; -1 stops reading until it changes again. */
  setThrottle(ms: number): void {
    this.options.throttleMs = ms;
    this.throttleWaiter?.();
    if (ms !== 0) void this.unblockReader();
  }

  /**
   * Stops reading, waits for the messages in hand up to `graceMs`, then closes
   * the reader. Anything not finished stays pending and is reclaimed by a peer.
   */
  async stop(graceMs = 30_000): Promise<void> {
    if (this.state === 'stopped' || this.state === 'idle') {
      this.state = 'stopped';
      this.reader.disconnect();
      return;
    }
    this.state = 'draining';
    if (this.reclaimTimer) clearInterval(this.reclaimTimer);
    this.slotWaiter?.();
    this.throttleWaiter?.();
    await this.unblockReader();
    await this.loop;
    const drained = Promise.allSettled([...this.inFlight]);
    const timedOut = await Promise.race([drained.then(() => false), delay(graceMs).then(() => true)]);
    if (timedOut) this.logger.warn('stop deadline passed with messages in hand; peers will reclaim them', { inFlight: this.inFlight.size, graceMs });
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    this.state = 'stopped';
    this.reader.disconnect();
  }

  // Resets the idle time of the messages in hand (XCLAIM JUSTID, which does
  // not count a delivery), so a callback that runs longer than reclaimIdleMs
  // is not taken over by a peer while this process is alive and working.
  private async keepAlive(): Promise<void> {
    if (this.inHand.size === 0) return;
    try {
      await this.commands.xclaim(this.options.stream, this.options.group, this.options.consumer, 0, ...this.inHand, 'JUSTID');
    } catch (error) {
      this.logger.debug('keeping messages in hand claimed failed', { err: (error as Error).message });
    }
  }

  private async unblockReader(): Promise<void> {
    if (this.readerId === undefined) return;
    try {
      await this.commands.client('UNBLOCK', this.readerId);
    } catch (error) {
      this.logger.debug('client unblock failed', { err: (error as Error).message });
    }
  }

  private async ensureGroup(): Promise<boolean> {
    try {
      await this.commands.xgroup('CREATE', this.options.stream, this.options.group, '0', 'MKSTREAM');
      return true;
    } catch (error) {
      if ((error as Error).message.startsWith('BUSYGROUP')) return false;
      throw error;
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.state === 'running') {
      try {
        await this.waitForThrottle();
        if (this.state !== 'running') break;
        await this.waitForSlot();
        if (this.state !== 'running') break;
        const free = this.options.concurrency - this.inFlight.size;
        const reply = (await this.reader.xreadgroup(
          'GROUP', this.options.group, this.options.consumer,
          'COUNT', free, 'BLOCK', this.options.blockMs,
          'STREAMS', this.options.stream, '>',
        )) as Array<[string, Array<[string, string[]]>]> | null;
        failures = 0;
        if (!reply) continue;
        for (const [, entries] of reply) {
          for (const [id, fields] of entries) this.dispatch({ id, payload: fieldValue(fields) });
        }
      } catch (error) {
        if (this.state !== 'running') break;
        failures++;
        await this.recover(error, failures);
      }
    }
  }

  private async recover(error: unknown, failures: number): Promise<void> {
    const wait = Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(failures, 7)) * (0.5 + Math.random() / 2);
    if (isNoGroupError(error)) {
      // The stream or its group vanished: Redis restarted empty or someone deleted it.
      try {
        const created = await this.ensureGroup();
        if (created) {
          this.logger.error('consumer group was missing and has been created again; Redis may have lost its data', {});
          this.handlers.groupRecreated?.();
        }
      } catch (inner) {
        this.logger.warn('cannot create consumer group yet', { err: (inner as Error).message });
      }
    } else if (isTransientError(error)) {
      this.logger.warn('stream read failed; retrying', { err: (error as Error).message, retryInMs: Math.round(wait), failures });
    } else {
      this.logger.error('stream read failed', { err: (error as Error).message, retryInMs: Math.round(wait), failures });
    }
    await delay(wait);
  }

  private dispatch(message: StreamMessage): void {
    faultPoint('consumer.after-read');
    this.inHand.add(message.id);
    const task = this.handlers.handle(message).catch((error: unknown) => {
      // Not acknowledged: the message stays pending and is retried by reclaim.
      this.logger.error('message handling failed; it will be reclaimed', { streamId: message.id, err: (error as Error).message });
    });
    this.inFlight.add(task);
    void task.finally(() => {
      this.inHand.delete(message.id);
      this.inFlight.delete(task);
      this.slotWaiter?.();
    });
  }

  private async waitForSlot(): Promise<void> {
    while (this.inFlight.size >= this.options.concurrency && this.state === 'running') {
      await new Promise<void>((resolve) => { this.slotWaiter = resolve; });
      this.slotWaiter = undefined;
    }
  }

  private async waitForThrottle(): Promise<void> {
    const ms = this.options.throttleMs;
    if (ms === 0) return;
    await new Promise<void>((resolve) => {
      this.throttleWaiter = resolve;
      if (ms > 0) setTimeout(resolve, ms).unref();
    });
    this.throttleWaiter = undefined;
    if (this.options.throttleMs < 0 && this.state === 'running') await this.waitForThrottle();
  }

  /**
   * Takes over messages that another consumer read but did not acknowledge
   * within `reclaimIdleMs` (it died or stalled), with XAUTOCLAIM. A message
   * delivered more than `maxDeliveries` times goes to the dead-letter handler
   * instead, and an entry whose message was trimmed or deleted goes to the
   * lost handler.
   */
  async reclaim(): Promise<number> {
    if (this.reclaiming || this.state !== 'running') return 0;
    this.reclaiming = true;
    let handled = 0;
    const { stream, group, consumer, reclaimIdleMs, maxDeliveries } = this.options;
    try {
      const free = Math.max(1, this.options.concurrency - this.inFlight.size);
      const [, entries, deleted] = (await this.commands.xautoclaim(stream, group, consumer, reclaimIdleMs, '0-0', 'COUNT', free)) as
        [string, Array<[string, string[]] | null>, string[] | undefined];
      for (const id of deleted ?? []) {
        this.logger.warn('pending message was trimmed or deleted before it was acknowledged', { streamId: id });
        await this.handlers.lost?.(id);
      }
      const claimed = entries.filter((entry): entry is [string, string[]] => entry !== null && Array.isArray(entry[1]));
      if (claimed.length === 0) return 0;
      const counts = new Map<string, number>();
      const pending = (await this.commands.xpending(stream, group, claimed[0][0], claimed[claimed.length - 1][0], claimed.length, consumer)) as Array<[string, string, number, number]>;
      for (const [id, , , deliveries] of pending) counts.set(id, Number(deliveries));
      for (const [id, fields] of claimed) {
        const message: StreamMessage = { id, payload: fieldValue(fields), deliveries: counts.get(id) ?? maxDeliveries + 1 };
        handled++;
        if (message.deliveries! > maxDeliveries) {
          this.logger.error('message exceeded its deliveries; dead-lettering it', { streamId: id, deliveries: message.deliveries });
          await this.handlers.deadLetter(message);
        } else {
          this.logger.warn('reclaimed a stalled message', { streamId: id, deliveries: message.deliveries });
          this.dispatch(message);
        }
      }
    } catch (error) {
      if (!isNoGroupError(error)) this.logger.warn('reclaim failed', { err: (error as Error).message });
    } finally {
      this.reclaiming = false;
    }
    return handled;
  }
}

function fieldValue(fields: string[]): string {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'm') return fields[i + 1];
  return fields[1] ?? '';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

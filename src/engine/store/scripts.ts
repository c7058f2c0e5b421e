import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

// Every Redis script the engine runs, one Lua file each under scripts/. The
// file's header lists its KEYS, ARGV and return codes.
const SCRIPT_NAMES = ['commit-step', 'fire-timers', 'respond', 'deploy-version', 'activate-version', 'keep-early-signal'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

const scriptDir = join(import.meta.dirname, 'scripts');
const sources = new Map<ScriptName, string>(SCRIPT_NAMES.map((name) => [name, readFileSync(join(scriptDir, `${name}.lua`), 'utf8')]));

/** Method names under which the scripts are defined on an ioredis client. */
export interface ScriptCommands {
  commitStep(numberOfKeys: number, ...args: string[]): Promise<[number, number, string]>;
  fireTimers(timers: string, stream: string, inflight: string, limit: string): Promise<[number, number, number]>;
  respond(engineStream: string, workerStream: string, inflight: string, group: string, id: string, payload: string, jobId: string): Promise<number>;
  deployVersion(numberOfKeys: number, ...args: string[]): Promise<[number, string]>;
  activateVersion(app: string, version: string, ...args: string[]): Promise<[number, string]>;
  keepEarlySignal(signals: string, early: string, stream: string, inflight: string, group: string, id: string, field: string, payload: string, ttlSeconds: string): Promise<number>;
}

const FIXED_KEYS: Partial<Record<ScriptName, number>> = { 'fire-timers': 3, respond: 3, 'activate-version': 2, 'keep-early-signal': 4 };

function methodName(name: ScriptName): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * Defines the scripts on a client. ioredis sends EVALSHA and falls back to
 * EVAL when Redis answers NOSCRIPT, for example after a restart.
 */
export function defineScripts(client: Redis): Redis & ScriptCommands {
  const defined = client as Redis & ScriptCommands & { __hotmeshScripts?: boolean };
  if (defined.__hotmeshScripts) return defined;
  for (const name of SCRIPT_NAMES) {
    const numberOfKeys = FIXED_KEYS[name];
    client.defineCommand(methodName(name), numberOfKeys === undefined ? { lua: sources.get(name)! } : { lua: sources.get(name)!, numberOfKeys });
  }
  defined.__hotmeshScripts = true;
  return defined;
}

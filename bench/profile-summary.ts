// Summarizes a V8 CPU profile (`node --cpu-prof`): self time per function
// and per origin (our engine, ioredis, winston, Node internals, GC, …), and
// inclusive time of the engine's own functions (src/), callees included.
// Usage: node bench/profile-summary.ts FILE.cpuprofile [--top N] [--inclusive REGEX]
// where REGEX picks other functions for the inclusive table by name and URL.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time of one function or origin. */
export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time, 0…1. */
  share: number;
}

export interface ProfileSummary {
  wallMs: number;
  busyMs: number;
  idleMs: number;
  functions: SelfTime[];
  origins: SelfTime[];
  /** Inclusive time of the picked functions (by default those under src/): their own time plus their callees'. */
  inclusive: SelfTime[];
}

/** Names the code a frame belongs to, from its script URL. */
function originOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return 'V8/native (program)';
    if (functionName === '(idle)') return 'idle';
    return 'V8/native builtins';
  }
  if (url.startsWith('wasm://')) return 'TypeScript type stripping (amaro, WebAssembly), at module load';
  if (url.startsWith('node:internal/')) return `node:internal/${url.slice('node:internal/'.length).split('/')[0]}`;
  if (url.startsWith('node:')) return url;
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1];
  const sourceMatch = /\/(src\/[^/]+(?:\/[^/]+)?)\//.exec(url);
  if (sourceMatch) return sourceMatch[1];
  if (url.includes('/bench/')) return 'bench';
  return url;
}

function shortUrl(url: string): string {
  const index = url.lastIndexOf('/node_modules/');
  if (index >= 0) return url.slice(index + '/node_modules/'.length);
  const source = url.search(/\/(src|bench)\//);
  return source >= 0 ? url.slice(source + 1) : url;
}

/** Summarizes `profile`; `inclusivePattern` picks functions by `name url` for the inclusive table. */
export function summarizeProfile(profile: CpuProfile, top: number, inclusivePattern: RegExp = /\/src\//): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfMicros = new Map<number, number>();
  // timeDeltas[i] is the time between sample i-1 and sample i, charged to sample i.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0));
  }

  const functions = new Map<string, number>();
  const origins = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idleMicros = 0;
  let totalMicros = 0;
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id)!.callFrame;
    totalMicros += micros;
    const origin = originOf(frame);
    if (origin === 'idle') {
      idleMicros += micros;
      continue;
    }
    const name = frame.url === '' ? frame.functionName : `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
    origins.set(origin, (origins.get(origin) ?? 0) + micros);

    // Charge this node's time once to every picked function on its stack,
    // so a recursive function counts once.
    const charged = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
      const callFrame = byId.get(current)!.callFrame;
      const key = `${callFrame.functionName || '(anonymous)'} ${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1}`;
      if (charged.has(key) || !inclusivePattern.test(`${callFrame.functionName} ${callFrame.url}`)) continue;
      charged.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + micros);
    }
  }

  const busyMicros = totalMicros - idleMicros;
  const rank = (map: Map<string, number>, limit: number): SelfTime[] => [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, micros]) => ({ name, ms: micros / 1000, share: busyMicros > 0 ? micros / busyMicros : 0 }));
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busyMicros / 1000,
    idleMs: idleMicros / 1000,
    functions: rank(functions, top),
    origins: rank(origins, top),
    inclusive: rank(inclusive, top),
  };
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const lines: string[] = [];
  lines.push(`profile: ${summary.wallMs.toFixed(0)} ms sampled, ${summary.busyMs.toFixed(0)} ms busy, ${summary.idleMs.toFixed(0)} ms idle (main thread)`);
  lines.push('', '| self time by origin | ms | % of busy |', '|---|---:|---:|');
  for (const entry of summary.origins) lines.push(`| ${entry.name} | ${entry.ms.toFixed(0)} | ${(entry.share * 100).toFixed(1)} |`);
  lines.push('', '| top functions by self time | ms | % of busy |', '|---|---:|---:|');
  for (const entry of summary.functions) lines.push(`| \`${entry.name}\` | ${entry.ms.toFixed(0)} | ${(entry.share * 100).toFixed(1)} |`);
  lines.push('', '| functions by inclusive time (callees included) | ms | % of busy |', '|---|---:|---:|');
  for (const entry of summary.inclusive) lines.push(`| \`${entry.name}\` | ${entry.ms.toFixed(0)} | ${(entry.share * 100).toFixed(1)} |`);
  return lines.join('\n');
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '20' }, inclusive: { type: 'string', default: '/src/' } },
  });
  if (positionals.length !== 1) {
    console.error('usage: node bench/profile-summary.ts FILE.cpuprofile [--top N] [--inclusive REGEX]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as CpuProfile;
  console.log(formatProfileSummary(summarizeProfile(profile, Number(values.top), new RegExp(values.inclusive))));
}

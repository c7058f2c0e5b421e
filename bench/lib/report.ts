// Turns the runs of every row into the one markdown table that `npm run
// bench` prints: one line per benchmark with the median of each metric over
// its runs, then the ratios against the targets.
import { median } from './measure.ts';
import type { AutoscaleRun } from '../scenarios/autoscale.ts';
import type { MemoryRun } from '../scenarios/memory.ts';
import type { RedisLimitRun as LimitRun } from '../scenarios/redis-limit.ts';
import type { TimersRun as TimerRun } from '../scenarios/timers.ts';
import type { ThroughputRun } from './throughput.ts';

/** A row's runs, or why it has none. */
export type RowOutcome<T> = { runs: T[] } | { pending: string } | { failed: string };

export interface BenchResults {
  ours: { oneProcess: RowOutcome<ThroughputRun>; twoShared: RowOutcome<ThroughputRun>; twoSplit: RowOutcome<ThroughputRun> };
  hotMesh: { oneProcess: RowOutcome<ThroughputRun>; twoProcesses: RowOutcome<ThroughputRun>; version: string };
  bullMq: { chain: RowOutcome<ThroughputRun>; version: string };
  limit: { unpipelined: RowOutcome<LimitRun>; pipelined: RowOutcome<LimitRun> };
  timers: RowOutcome<TimerRun>;
  autoscale: RowOutcome<AutoscaleRun>;
  memory: { engine: RowOutcome<MemoryRun>; operator: RowOutcome<{ rss: number }> };
}

/** Medians of a throughput row's metrics, each over the row's runs. */
export interface ThroughputMedians {
  jobs: number;
  runs: number;
  jobsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  clientCommandsPerJob: number;
  scriptCommandsPerJob: number;
  redisCpuMicrosPerJob: number;
  nodeCpuMicrosPerJob: number;
  /** Cores busy with other work during the window. */
  otherLoad: number;
  /** Share of the window each process's event loop was busy, 0…1; the scenario process first. */
  loopBusy: number[];
}

export function throughputMedians(runs: ThroughputRun[]): ThroughputMedians {
  const of = (pick: (run: ThroughputRun) => number): number => median(runs.map(pick));
  return {
    jobs: runs[0].jobs,
    runs: runs.length,
    jobsPerSecond: of((run) => run.jobsPerSecond),
    p50Ms: of((run) => run.p50Ms),
    p99Ms: of((run) => run.p99Ms),
    clientCommandsPerJob: of((run) => run.clientCommands / run.jobs),
    scriptCommandsPerJob: of((run) => (run.redisCommands - run.clientCommands) / run.jobs),
    redisCpuMicrosPerJob: of((run) => (run.redisCpuSeconds * 1e6) / run.jobs),
    nodeCpuMicrosPerJob: of((run) => (run.nodeCpuSeconds * 1e6) / run.jobs),
    otherLoad: of((run) => Math.max(0, run.machineCpuSeconds - run.nodeCpuSeconds - run.redisCpuSeconds) / run.seconds),
    loopBusy: runs[0].loopBusy.map((_, i) => of((run) => run.loopBusy[i])),
  };
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function mebibytes(bytes: number): string {
  return `${integer.format(bytes / 2 ** 20)} MiB`;
}

function firstLine(text: string): string {
  return text.split('\n')[0].slice(0, 160);
}

type Cells = [string, string, string, string, string, string, string, string, string, string, string, string];

const HEADER: Cells = ['#', 'benchmark', 'per run', 'result (median)', 'p50', 'p99', 'client cmds/job', 'in-script cmds/job', 'Redis CPU/job', 'Node CPU/job', 'event loop busy', 'other load'];

function emptyCells(id: string, name: string): Cells {
  return [id, name, '', '', '', '', '', '', '', '', '', ''];
}

function outcomeCells<T>(id: string, name: string, outcome: RowOutcome<T>, fill: (runs: T[]) => Cells): Cells {
  if ('pending' in outcome) return [...emptyCells(id, name).slice(0, 3), `pending: ${outcome.pending}`, ...emptyCells(id, name).slice(4)] as Cells;
  if ('failed' in outcome) return [...emptyCells(id, name).slice(0, 3), `failed: ${firstLine(outcome.failed)}`, ...emptyCells(id, name).slice(4)] as Cells;
  return fill(outcome.runs);
}

function throughputCells(id: string, name: string, outcome: RowOutcome<ThroughputRun>): Cells {
  return outcomeCells(id, name, outcome, (runs) => {
    const m = throughputMedians(runs);
    return [
      id, name, `${integer.format(m.jobs)} jobs ×${m.runs}`,
      `${integer.format(m.jobsPerSecond)} jobs/s`,
      `${integer.format(m.p50Ms)} ms`, `${integer.format(m.p99Ms)} ms`,
      oneDecimal.format(m.clientCommandsPerJob), oneDecimal.format(m.scriptCommandsPerJob),
      `${integer.format(m.redisCpuMicrosPerJob)} µs`, `${integer.format(m.nodeCpuMicrosPerJob)} µs`,
      m.loopBusy.map((share) => `${integer.format(share * 100)} %`).join(' / '),
      `${twoDecimals.format(m.otherLoad)} cores`,
    ];
  });
}

function limitCells(id: string, name: string, outcome: RowOutcome<LimitRun>): Cells {
  return outcomeCells(id, name, outcome, (runs) => {
    const cells = emptyCells(id, name);
    cells[2] = `×${runs.length}`;
    cells[3] = `${integer.format(median(runs.map((run) => run.callsPerSecond)))} calls/s`;
    cells[8] = `${oneDecimal.format(median(runs.map((run) => run.redisCpuMicrosPerCall)))} µs/call`;
    return cells;
  });
}

/** Finds the medians of a throughput outcome, or undefined when it has no runs. */
function mediansOf(outcome: RowOutcome<ThroughputRun>): ThroughputMedians | undefined {
  return 'runs' in outcome && outcome.runs.length > 0 ? throughputMedians(outcome.runs) : undefined;
}

function bestOf(...outcomes: RowOutcome<ThroughputRun>[]): ThroughputMedians | undefined {
  return outcomes.map(mediansOf).filter((m) => m !== undefined).sort((a, b) => b.jobsPerSecond - a.jobsPerSecond)[0];
}

function ratioCells(id: string, name: string, value: string, target: string, met: boolean | undefined): Cells {
  const cells = emptyCells(id, name);
  cells[3] = value;
  cells[4] = `target ${target}`;
  if (met === undefined) cells[5] = 'n/a';
  else cells[5] = met ? 'met' : 'not met';
  return cells;
}

function ratioRows(results: BenchResults): Cells[] {
  const oursOne = mediansOf(results.ours.oneProcess);
  const oursBest = bestOf(results.ours.oneProcess, results.ours.twoShared, results.ours.twoSplit);
  const bull = mediansOf(results.bullMq.chain);
  const hotMeshBest = bestOf(results.hotMesh.oneProcess, results.hotMesh.twoProcesses);
  const limitOf = (outcome: RowOutcome<LimitRun>): number | undefined => ('runs' in outcome ? median(outcome.runs.map((run) => run.callsPerSecond)) : undefined);
  const unpipelined = limitOf(results.limit.unpipelined);
  const pipelined = limitOf(results.limit.pipelined);
  const rows: Cells[] = [];

  if (oursOne && bull) {
    const ratio = oursOne.jobsPerSecond / bull.jobsPerSecond;
    rows.push(ratioCells('R1', 'ours 1 process ÷ BullMQ chain, jobs/s', `${twoDecimals.format(ratio)}×`, '≥ 2×', ratio >= 2));
  } else rows.push(ratioCells('R1', 'ours 1 process ÷ BullMQ chain, jobs/s', 'n/a', '≥ 2×', undefined));
  if (oursBest && hotMeshBest) {
    const ratio = oursBest.jobsPerSecond / hotMeshBest.jobsPerSecond;
    rows.push(ratioCells('R2', 'ours best layout ÷ HotMesh best layout, jobs/s', `${oneDecimal.format(ratio)}×`, '≥ 10×', ratio >= 10));
  } else rows.push(ratioCells('R2', 'ours best layout ÷ HotMesh best layout, jobs/s', 'n/a', '≥ 10×', undefined));
  if (oursBest && unpipelined && pipelined) {
    // Redis' ceiling for our jobs if every client command cost one EVALSHA round trip of the limit rows.
    const ceiling = unpipelined / oursBest.clientCommandsPerJob;
    const pipelinedCeiling = pipelined / oursBest.clientCommandsPerJob;
    rows.push(ratioCells(
      'R3', 'ours best layout ÷ Redis limit (limit calls/s ÷ our client cmds/job)',
      `${twoDecimals.format(oursBest.jobsPerSecond / ceiling)} of ${integer.format(ceiling)} jobs/s unpipelined, ${twoDecimals.format(oursBest.jobsPerSecond / pipelinedCeiling)} of ${integer.format(pipelinedCeiling)} pipelined`,
      'none', undefined,
    ));
  } else rows.push(ratioCells('R3', 'ours best layout ÷ Redis limit', 'n/a', 'none', undefined));
  if (oursOne) {
    rows.push(ratioCells('R4', 'ours 1 process, client cmds/job', oneDecimal.format(oursOne.clientCommandsPerJob), '≤ 8', oursOne.clientCommandsPerJob <= 8));
  } else rows.push(ratioCells('R4', 'ours 1 process, client cmds/job', 'n/a', '≤ 8', undefined));
  if (oursOne && bull) {
    const ratio = oursOne.redisCpuMicrosPerJob / bull.redisCpuMicrosPerJob;
    rows.push(ratioCells('R5', 'ours 1 process ÷ BullMQ chain, Redis CPU/job', `${twoDecimals.format(ratio)}×`, '≤ 1×', ratio <= 1));
  } else rows.push(ratioCells('R5', 'ours 1 process ÷ BullMQ chain, Redis CPU/job', 'n/a', '≤ 1×', undefined));
  return rows;
}

function timerCells(outcome: RowOutcome<TimerRun>): Cells {
  return outcomeCells('5', 'ours timers: trigger → hook `sleep: 1`, all started at once; lateness = completion − start − 1 s', outcome, (runs) => {
    const cells = emptyCells('5', 'ours timers: trigger → hook `sleep: 1`, all started at once; lateness = completion − start − 1 s');
    const of = (pick: (run: TimerRun) => number): string => `${integer.format(median(runs.map(pick)))} ms`;
    cells[2] = `${integer.format(runs[0].jobs)} sleeps ×${runs.length}`;
    cells[3] = `max ${of((run) => run.maxMs)} late (caller: max ${of((run) => run.callerMaxMs)}); ${runs[0].smallJobs} sleeps at once: p50 ${of((run) => run.smallP50Ms)}, max ${of((run) => run.smallMaxMs)}`;
    cells[4] = `${of((run) => run.p50Ms)} (caller ${of((run) => run.callerP50Ms)})`;
    cells[5] = `${of((run) => run.p99Ms)} (caller ${of((run) => run.callerP99Ms)})`;
    return cells;
  });
}

function autoscaleCells(outcome: RowOutcome<AutoscaleRun>): Cells {
  const name = 'autoscaling: 1,000-job burst → first scale-up decision';
  const cells = outcomeCells('6', name, outcome, (runs) => {
    const filled = emptyCells('6', name);
    filled[2] = `×${runs.length}`;
    filled[3] = `${integer.format(median(runs.map((run) => run.reactionMs)))} ms (poll every ${integer.format(runs[0].pollMs)} ms)`;
    return filled;
  });
  cells[4] = 'KEDA defaults on paper: up to 45 s';
  cells[5] = '(30 s polling + 15 s HPA sync)';
  return cells;
}

function memoryRows(memory: BenchResults['memory']): Cells[] {
  const engine = outcomeCells('7a', 'memory: RSS of an engine+workers process', memory.engine, (runs) => {
    const cells = emptyCells('7a', 'memory: RSS of an engine+workers process');
    cells[2] = `×${runs.length}`;
    cells[3] = `idle ${mebibytes(median(runs.map((run) => run.idleRss)))}, under load peak ${mebibytes(median(runs.map((run) => run.peakRss)))}, after ${mebibytes(median(runs.map((run) => run.afterRss)))}`;
    return cells;
  });
  const operator = outcomeCells('7b', 'memory: RSS of the operator', memory.operator, (runs) => {
    const cells = emptyCells('7b', 'memory: RSS of the operator');
    cells[2] = `×${runs.length}`;
    cells[3] = `local mode on the samples, app Ready, idle: ${mebibytes(median(runs.map((run) => run.rss)))}`;
    return cells;
  });
  return [engine, operator];
}

export function formatTable(results: BenchResults): string {
  const rows: Cells[] = [
    throughputCells('1a', 'ours, 1 process: callers + engine + workers', results.ours.oneProcess),
    throughputCells('1b', 'ours, 2 processes: callers + engine + workers, helper with engine + workers', results.ours.twoShared),
    throughputCells('1c', 'ours, 2 processes: callers only, helper with engine + workers', results.ours.twoSplit),
    throughputCells('2a', `HotMesh ${results.hotMesh.version}, 1 process: callers + engine + workers`, results.hotMesh.oneProcess),
    throughputCells('2b', `HotMesh ${results.hotMesh.version}, 2 processes: callers + engine + workers, helper with engine + workers`, results.hotMesh.twoProcesses),
    throughputCells('3', `BullMQ ${results.bullMq.version}, chain of 3 jobs, 1 process (per chain)`, results.bullMq.chain),
    limitCells('4a', 'Redis limit: EVALSHA (HSET + XADD), 50 clients, unpipelined', results.limit.unpipelined),
    limitCells('4b', 'Redis limit: same, pipelined 16 deep', results.limit.pipelined),
    timerCells(results.timers),
    autoscaleCells(results.autoscale),
    ...memoryRows(results.memory),
    ...ratioRows(results),
  ];
  const lines = [HEADER, HEADER.map(() => '---') as unknown as Cells, ...rows].map((cells) => `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`);
  return lines.join('\n');
}

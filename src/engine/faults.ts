// Crash points for fault-injection tests. They do nothing unless the
// environment variable HOTMESH_FAULTS names them, which only tests set:
//   HOTMESH_FAULTS="worker.after-callback:0.05,engine.before-commit:0.02"
// kills the process with SIGKILL at that point with that probability (1 when
// no probability is given), exactly as `kill -9` would.

/** Named places where a process may die in a fault test. */
export type FaultPoint =
  | 'consumer.after-read'
  | 'worker.after-callback'
  | 'engine.before-commit'
  | 'engine.after-commit';

const configured = parseFaults(process.env.HOTMESH_FAULTS);

function parseFaults(text: string | undefined): Map<string, number> {
  const faults = new Map<string, number>();
  if (!text) return faults;
  for (const entry of text.split(',')) {
    const [name, probability] = entry.trim().split(':');
    if (name) faults.set(name, probability === undefined ? 1 : Number(probability));
  }
  return faults;
}

/** Dies at `point` when HOTMESH_FAULTS asks for it. */
export function faultPoint(point: FaultPoint): void {
  const probability = configured.get(point);
  if (probability === undefined || Math.random() >= probability) return;
  process.stderr.write(`hotmesh: fault injected at ${point}; killing process ${process.pid}\n`);
  process.kill(process.pid, 'SIGKILL');
}

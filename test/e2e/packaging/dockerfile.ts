// A small Dockerfile reader for the packaging tests: stages, instructions,
// and the exec-form ENTRYPOINT and CMD of the final stage. It handles the
// subset this repository's Dockerfiles use (line continuations, comments,
// ARG defaults in FROM, JSON-array ENTRYPOINT and CMD, ENV key=value).
import { readFileSync } from 'node:fs';

/** One instruction, with its keyword upper-cased and continuations joined. */
export interface Instruction {
  keyword: string;
  text: string;
}

/** One FROM stage and its instructions. */
export interface Stage {
  base: string;
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARG defaults declared before the first FROM. */
  args: Record<string, string>;
  stages: Stage[];
}

/** Splits a Dockerfile into instructions, joining `\` continuations and dropping comments. */
function instructions(text: string): Instruction[] {
  const result: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending !== '' && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = `${pending}${line}`.trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/.exec(whole);
    if (match) result.push({ keyword: match[1].toUpperCase(), text: match[2] });
  }
  return result;
}

export function parseDockerfile(path: string): Dockerfile {
  const parsed: Dockerfile = { args: {}, stages: [] };
  for (const instruction of instructions(readFileSync(path, 'utf8'))) {
    const stage = parsed.stages.at(-1);
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.text.split(/\s+/);
      const base = image.replace(/\$\{(\w+)\}/g, (_, arg: string) => parsed.args[arg] ?? '');
      parsed.stages.push({ base, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (!stage) {
      if (instruction.keyword === 'ARG') {
        const [key, value = ''] = instruction.text.split('=');
        parsed.args[key.trim()] = value.trim();
      }
    } else {
      stage.instructions.push(instruction);
    }
  }
  return parsed;
}

/** Returns the last stage, which is the image that runs. */
export function finalStage(dockerfile: Dockerfile): Stage {
  const stage = dockerfile.stages.at(-1);
  if (!stage) throw new Error('the Dockerfile has no FROM');
  return stage;
}

/** Returns the text of the stage's last instruction with `keyword`, as Docker uses the last one. */
export function lastInstruction(stage: Stage, keyword: string): string | undefined {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword).at(-1)?.text;
}

/** Parses an exec-form (JSON array) ENTRYPOINT or CMD. A shell form throws. */
export function execForm(stage: Stage, keyword: 'ENTRYPOINT' | 'CMD'): string[] {
  const text = lastInstruction(stage, keyword);
  if (text === undefined) return [];
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) throw new Error(`${keyword} is not an exec-form JSON array of strings: ${text}`);
  return value;
}

/** ENV variables of the stage, from `ENV KEY=VALUE` instructions. */
export function environment(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of stage.instructions.filter((entry) => entry.keyword === 'ENV')) {
    for (const pair of instruction.text.split(/\s+/)) {
      const index = pair.indexOf('=');
      if (index > 0) env[pair.slice(0, index)] = pair.slice(index + 1);
    }
  }
  return env;
}

/** Returns the target of `ln -s TARGET LINK` in the stage's RUN instructions, for one link path. */
export function symlinkTarget(stage: Stage, link: string): string | undefined {
  for (const instruction of stage.instructions.filter((entry) => entry.keyword === 'RUN')) {
    const match = new RegExp(`ln -s\\s+(\\S+)\\s+${link.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(\\s|$)`).exec(instruction.text);
    if (match) return match[1];
  }
  return undefined;
}

// Runs the commands that the images run, as the Dockerfiles declare them,
// against a fresh build of src/ on this Node. No container engine runs on
// these machines, so this checks the entry points, not the images: image
// paths under /app map to the repository, and /app/dist to the fresh build.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { RedisServer } from '../../support/redis-server.ts';
import { environment, execForm, finalStage, lastInstruction, parseDockerfile, symlinkTarget, type Stage } from './dockerfile.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const buildDir = join(repoRoot, '.tmp', `packaging-${process.pid}`);
const operatorImage = finalStage(parseDockerfile(join(repoRoot, 'Dockerfile')));
const workerImage = finalStage(parseDockerfile(join(repoRoot, 'Dockerfile.worker')));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Maps a path inside the image to this checkout: /app/dist is the fresh build, the rest of /app the repository. */
function hostPath(imagePath: string): string {
  if (imagePath.startsWith('/app/dist/')) return join(buildDir, 'dist', imagePath.slice('/app/dist/'.length));
  if (imagePath.startsWith('/app/')) return join(repoRoot, imagePath.slice('/app/'.length));
  throw new Error(`no mapping for image path ${imagePath}`);
}

/**
 * Turns an image command line into Node arguments. `hotmesh` is the link in
 * /usr/local/bin that the Dockerfile makes, and its target runs on this Node.
 */
function nodeArguments(stage: Stage, argv: string[]): string[] {
  const [command, ...rest] = argv;
  expect(command, 'the command the image runs').to.equal('hotmesh');
  const target = symlinkTarget(stage, '/usr/local/bin/hotmesh');
  expect(target, 'RUN ln -s TARGET /usr/local/bin/hotmesh in the final stage').to.be.a('string');
  return [hostPath(target!), ...rest];
}

/** Returns the image's ENV with /app paths mapped, on top of a minimal environment. */
function imageEnv(stage: Stage, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, HOTMESH_LOG_LEVEL: 'warn' };
  for (const [key, value] of Object.entries(environment(stage))) env[key] = value.startsWith('/app/') ? hostPath(value) : value;
  return { ...env, ...extra };
}

/** Returns the image's working folder, mapped to the repository. */
function workingFolder(stage: Stage): string {
  const workdir = lastInstruction(stage, 'WORKDIR');
  expect(workdir, 'WORKDIR of the final stage').to.equal('/app');
  return repoRoot;
}

async function runImage(stage: Stage, argv: string[], env: Record<string, string> = {}): Promise<Result> {
  return await new Promise((resolve) => {
    execFile(process.execPath, nodeArguments(stage, argv), { cwd: workingFolder(stage), env: imageEnv(stage, env), timeout: 30_000 }, (error, stdout, stderr) => {
      let code = 0;
      if (error) code = typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

function packageNodeVersion(): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  return pkg.devDependencies.node;
}

describe('packaging: Dockerfiles', function () {
  for (const [file, stage] of [['Dockerfile', operatorImage], ['Dockerfile.worker', workerImage]] as const) {
    it(`${file} runs as a numeric non-root user`, function () {
      const user = lastInstruction(stage, 'USER') ?? '';
      expect(user, `USER of ${file}`).to.match(/^\d+(:\d+)?$/);
      expect(Number(user.split(':')[0]), `uid of ${file}`).to.be.greaterThan(0);
    });

    it(`${file} installs production dependencies only`, function () {
      const runs = stage.instructions.filter((instruction) => instruction.keyword === 'RUN').map((instruction) => instruction.text);
      expect(runs.some((text) => /npm ci\b.*--omit=dev/.test(text)), `npm ci --omit=dev in the final stage of ${file}`).to.equal(true);
      const copies = stage.instructions.filter((instruction) => instruction.keyword === 'COPY').map((instruction) => instruction.text);
      expect(copies.some((text) => /^--from=build\s+\S*\/dist\s/.test(text)), `dist/ copied from the build stage in ${file}`).to.equal(true);
    });

    it(`${file} uses the pinned Node version`, function () {
      const dockerfile = parseDockerfile(join(repoRoot, file));
      expect(dockerfile.args.NODE_VERSION, `ARG NODE_VERSION in ${file}`).to.equal(packageNodeVersion());
      for (const each of dockerfile.stages) expect(each.base, `FROM of ${file}`).to.equal(`node:${packageNodeVersion()}-slim`);
    });
  }
});

describe('packaging: image entry points', function () {
  let redis: RedisServer | undefined;
  let worker: ChildProcess | undefined;

  before(async function () {
    this.timeout(120_000);
    rmSync(buildDir, { recursive: true, force: true });
    mkdirSync(buildDir, { recursive: true });
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const built = await new Promise<Result>((resolve) => {
      execFile(process.execPath, [tsc, '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', join(buildDir, 'dist')], { cwd: repoRoot }, (error, stdout, stderr) => {
        resolve({ code: error ? 1 : 0, stdout, stderr });
      });
    });
    expect(built.code, `tsc -p tsconfig.build.json failed:\n${built.stdout}${built.stderr}`).to.equal(0);
    // The rest of `npm run build`: the Lua scripts the store loads at run time.
    cpSync(join(repoRoot, 'src', 'engine', 'store', 'scripts'), join(buildDir, 'dist', 'engine', 'store', 'scripts'), { recursive: true });
  });

  after(async function () {
    this.timeout(30_000);
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await redis?.stop();
    rmSync(buildDir, { recursive: true, force: true });
  });

  it('hotmesh --help prints the commands', async function () {
    const result = await runImage(operatorImage, [...execForm(operatorImage, 'ENTRYPOINT'), '--help']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('usage: hotmesh COMMAND');
    expect(result.stdout).to.contain('operator');
  });

  it('operator image CMD runs hotmesh operator', async function () {
    const argv = [...execForm(operatorImage, 'ENTRYPOINT'), ...execForm(operatorImage, 'CMD')];
    expect(argv).to.deep.equal(['hotmesh', 'operator']);
    const result = await runImage(operatorImage, [...argv, '--help']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('usage: hotmesh operator');
    expect(result.stdout).to.contain('--leader-elect');
  });

  it('engine command of app pods runs', async function () {
    // The operator starts engine pods from its own image with `hotmesh engine`.
    const result = await runImage(operatorImage, ['hotmesh', 'engine', '--help']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('usage: hotmesh engine');
  });

  it('worker image ENTRYPOINT runs hotmesh worker', async function () {
    const result = await runImage(workerImage, [...execForm(workerImage, 'ENTRYPOINT'), '--help']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('usage: hotmesh worker');
  });

  it('worker image completes orders jobs', async function () {
    this.timeout(60_000);
    redis = await RedisServer.start();
    const cli = (args: string[]): Promise<Result> => runImage(operatorImage, ['hotmesh', ...args, '--redis', redis!.url]);

    const deployed = await cli(['deploy', join(repoRoot, 'examples', 'orders', 'app.yaml'), '--activate']);
    expect(deployed.code, deployed.stderr).to.equal(0);

    const argv = nodeArguments(workerImage, [...execForm(workerImage, 'ENTRYPOINT'), ...execForm(workerImage, 'CMD')]);
    const env = imageEnv(workerImage, { HOTMESH_APP_ID: 'orders', HOTMESH_REDIS_URL: redis.url });
    expect(env.HOTMESH_WORKER_MODULE, 'the worker module the image names').to.equal(join(repoRoot, 'examples', 'orders', 'workers.ts'));
    let output = '';
    worker = spawn(process.execPath, argv, { cwd: workingFolder(workerImage), env, stdio: ['ignore', 'pipe', 'pipe'] });
    worker.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    worker.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });

    const approved = await cli(['pub', 'orders', 'order.placed', JSON.stringify({ id: 'o-1', amount: 120, customer: 'ada', country: 'de' }), '--await']);
    expect(approved.code, `${approved.stderr}\nworker output:\n${output}`).to.equal(0);
    const shipped = JSON.parse(approved.stdout) as { data: Record<string, unknown> };
    expect(shipped.data.status).to.equal('shipped');
    expect(shipped.data.trackingNumber).to.equal('DE-o-1');

    const refused = await cli(['pub', 'orders', 'order.placed', JSON.stringify({ id: 'o-2', amount: 9000, customer: 'bob', country: 'fr' }), '--await']);
    expect(refused.code, `${refused.stderr}\nworker output:\n${output}`).to.equal(0);
    const declined = JSON.parse(refused.stdout) as { data: Record<string, unknown> };
    expect(declined.data.status).to.equal('declined');
    expect(declined.data.trackingNumber).to.equal(undefined);

    const exited = new Promise<number | null>((resolve) => worker!.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    expect(await exited, `worker exit code after SIGTERM; output:\n${output}`).to.equal(0);
  });
});

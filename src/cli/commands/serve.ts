import type { HotMesh } from '../../engine/hotmesh.ts';

/** Time a stopping process gives the messages in hand, ms. */
export function shutdownGraceMs(): number {
  const value = Number(process.env.HOTMESH_SHUTDOWN_GRACE_MS ?? 25_000);
  return Number.isFinite(value) && value >= 0 ? value : 25_000;
}

/**
 * Keeps a long-running process alive until SIGTERM or SIGINT, then stops
 * reading, lets messages in hand finish within the grace time, and exits 0.
 */
export async function serveUntilSignal(hotMesh: HotMesh): Promise<number> {
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      hotMesh.logger.info('signal received; draining', { signal, graceMs: shutdownGraceMs() });
      hotMesh.stop(shutdownGraceMs()).then(
        () => resolve(0),
        (error: unknown) => {
          hotMesh.logger.error('stop failed', { err: (error as Error).message });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}

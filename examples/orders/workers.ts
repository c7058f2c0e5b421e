// Worker callbacks of the orders example. `hotmesh worker orders --module`
// loads this file's default export, a map of topic to callback. The sample
// HotMeshWorkers in config/samples/ run one topic each. Node 24 runs this
// file as it is, because it uses only erasable TypeScript syntax.

/** Charges above this amount are declined, so the graph's decline branch runs. */
export const CHARGE_LIMIT = 5000;

/**
 * Simulated time each callback takes, in ms, from ORDERS_WORK_MS (default 0).
 * A few ms per message lets a burst of orders build a backlog to scale on.
 */
function workTimeMs(): number {
  const value = Number(process.env.ORDERS_WORK_MS ?? 0);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

async function simulateWork(): Promise<void> {
  const ms = workTimeMs();
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Charges `amount` for the order and approves amounts from 0 to CHARGE_LIMIT. */
export async function charge(input: Record<string, unknown>): Promise<{ chargeId: string; approved: boolean }> {
  const amount = Number(input.amount);
  if (!Number.isFinite(amount) || amount < 0) throw new Error(`invalid amount ${String(input.amount)} for order ${String(input.orderId)}`);
  await simulateWork();
  return { chargeId: `ch-${String(input.orderId)}`, approved: amount <= CHARGE_LIMIT };
}

/** Creates a shipping label for the order and returns its tracking number. */
export async function label(input: Record<string, unknown>): Promise<{ trackingNumber: string }> {
  await simulateWork();
  const country = typeof input.country === 'string' && input.country !== '' ? input.country.toUpperCase() : 'XX';
  return { trackingNumber: `${country}-${String(input.orderId)}` };
}

export default {
  'pay.charge': charge,
  'ship.label': label,
};

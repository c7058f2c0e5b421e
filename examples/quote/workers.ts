// Worker callbacks of the quote example: each receives the activity's mapped
// input and returns its output data. `hotmesh worker quote --module` loads
// this file's default export, a map of topic to callback.

const UNIT_PRICES: Record<string, number> = { widget: 12.5, gadget: 40, gizmo: 99 };

/** Prices `quantity` units of `sku`. */
export async function price(input: Record<string, unknown>): Promise<{ subtotal: number }> {
  const unit = UNIT_PRICES[String(input.sku)];
  if (unit === undefined) throw new Error(`unknown sku ${String(input.sku)}`);
  return { subtotal: Math.round(unit * Number(input.quantity) * 100) / 100 };
}

/** Gives 10 % off orders of 100 or more. */
export async function discount(input: Record<string, unknown>): Promise<{ discount: number }> {
  return { discount: Math.round(Number(input.subtotal) * 10) / 100 };
}

export default {
  'quote.price': price,
  'quote.discount': discount,
};

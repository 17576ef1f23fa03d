// Market rules (spec §3.8): what a purchase carries, and what one redeem does.

/** Uses bought: uses_per_purchase × quantity for a consumable with limited uses, else unlimited (null). */
export function usesBought(item: { is_consumable: boolean; uses_per_purchase: number | null }, quantity: number): number | null {
  return item.is_consumable && item.uses_per_purchase !== null ? item.uses_per_purchase * quantity : null;
}

/** One redeem: a use is taken; none left (or unlimited uses, null) means fully redeemed. */
export function redeemOnce(usesRemaining: number | null): { usesRemaining: number | null; fullyRedeemed: boolean } {
  const left = usesRemaining === null ? null : usesRemaining - 1;
  return { usesRemaining: left === null ? null : Math.max(0, left), fullyRedeemed: left === null || left <= 0 };
}

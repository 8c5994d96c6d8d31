// Money travels as decimal strings ("1234.50"); compare and bound it in integer cents.

export function toCents(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined || value === "") return null;
  const s = String(value).trim();
  if (!/^-?\d+(\.\d{1,2})?$/.test(s)) return null;
  const neg = s.startsWith("-");
  const [whole, frac = ""] = s.replace("-", "").split(".");
  const cents = Number(whole) * 100 + Number(frac.padEnd(2, "0"));
  return neg ? -cents : cents;
}

export function fromCents(cents: number): string {
  const neg = cents < 0;
  const abs = Math.abs(cents);
  return `${neg ? "-" : ""}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** The most a claim may be approved for: its amount, and never past the remaining sum insured. */
export function approvalCeiling(claimAmount: string, remainingSumInsured: string | null | undefined): number | null {
  const claim = toCents(claimAmount);
  const remaining = toCents(remainingSumInsured ?? null);
  if (claim === null) return remaining;
  if (remaining === null) return claim;
  return Math.min(claim, remaining);
}

export type AmountProblem = "invalid" | "notPositive" | "overCeiling";

export function checkApproval(amount: string, ceilingCents: number | null): AmountProblem | null {
  const cents = toCents(amount);
  if (cents === null) return "invalid";
  if (cents <= 0) return "notPositive";
  if (ceilingCents !== null && cents > ceilingCents) return "overCeiling";
  return null;
}

export function formatMoney(value: string | number | null | undefined, currency = "CNY", locale = "zh-CN"): string {
  const cents = toCents(value ?? null);
  if (cents === null) return "—";
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(cents / 100);
}

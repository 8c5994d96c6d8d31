import type { MsgKey } from "../../messages";

// The money screens under /money (kept apart so Finance links to them without loading them).
export const MONEY_SCREENS: { path: string; label: MsgKey }[] = [
  { path: "requests", label: "money.requests" },
  { path: "settlements", label: "money.settlements" },
  { path: "fees", label: "money.fees" },
  { path: "reconciliation", label: "money.reconciliation" },
  { path: "loss-ratio", label: "money.lossRatio" },
];

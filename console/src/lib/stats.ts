// Finance statistics rows, grouped for a chart: one point per period, summed over the other keys.

export interface StatRow {
  period: string;
  channel_id: string;
  product_code: string;
  plan_code: string;
  policies: number;
  premium: string;
  refunds: string;
  claims: number;
  claim_amount: string;
}

export interface Series {
  periods: string[];
  policies: number[];
  premium: number[];
  claimAmount: number[];
}

export function byPeriod(rows: StatRow[]): Series {
  const acc = new Map<string, { policies: number; premium: number; claimAmount: number }>();
  for (const r of rows) {
    const a = acc.get(r.period) ?? { policies: 0, premium: 0, claimAmount: 0 };
    a.policies += r.policies;
    a.premium += Math.round(Number(r.premium) * 100);
    a.claimAmount += Math.round(Number(r.claim_amount) * 100);
    acc.set(r.period, a);
  }
  const periods = [...acc.keys()].sort();
  return {
    periods,
    policies: periods.map((p) => acc.get(p)!.policies),
    premium: periods.map((p) => acc.get(p)!.premium / 100),
    claimAmount: periods.map((p) => acc.get(p)!.claimAmount / 100),
  };
}

/** A CSV file name for a channel's monthly statement. */
export function statementFile(channelId: string, month: string): string {
  return `statement-${channelId.replace(/[^\w-]/g, "_")}-${month}.csv`;
}

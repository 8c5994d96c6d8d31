import { describe, expect, test } from "vitest";
import { allows, expired, loadSession, readToken, tokenFromFragment } from "./auth";
import { apiBase, routerBase } from "./base";
import { formatDuration, monthOf } from "./format";
import { approvalCeiling, checkApproval, fromCents, toCents } from "./money";
import { figures, gauges, seriesOf } from "./overview";
import { diffRules, ruleProblems, shareSum, type RuleRow } from "./shares";
import { byPeriod, statementFile } from "./stats";
import { ACTIONS, VIEWS } from "./views";

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const jwt = (claims: unknown) => `${b64url({ alg: "HS256" })}.${b64url(claims)}.sig`;

class MemStorage {
  m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

describe("sign-in", () => {
  test("roles come from the local token, Cognito groups or custom:roles, unknown ones dropped", () => {
    expect(readToken(jwt({ sub: "a", roles: ["ops", "root"] }))?.roles).toEqual(["ops"]);
    expect(readToken(jwt({ sub: "b", "cognito:groups": ["finance"] }))?.roles).toEqual(["finance"]);
    expect(readToken(jwt({ sub: "c", "custom:roles": "sales,service" }))?.roles).toEqual(["service", "sales"]);
    expect(readToken("not-a-jwt")).toBeNull();
    expect(readToken("a.%%%.c")).toBeNull();
  });

  test("admin holds every role; others only theirs", () => {
    expect(allows(["admin"], ["finance"])).toBe(true);
    expect(allows(["ops"], ["finance"])).toBe(false);
    expect(allows(["ops"], ["ops", "service"])).toBe(true);
  });

  test("a token handed in the fragment is kept for the tab; an expired one is dropped", () => {
    const store = new MemStorage() as unknown as Storage;
    const live = jwt({ sub: "demo-ops", roles: ["ops"], exp: 2000 });
    expect(tokenFromFragment(`#token=${live}`)).toBe(live);
    expect(tokenFromFragment(`#id_token=${live}&token_type=Bearer`)).toBe(live);
    expect(loadSession(store, `#token=${live}`, 1000)?.sub).toBe("demo-ops");
    expect(loadSession(store, "", 1000)?.sub).toBe("demo-ops");
    expect(loadSession(store, "", 2000)).toBeNull();
    expect(loadSession(store, "", 1000)).toBeNull();
    expect(expired(readToken(live)!, 1999)).toBe(false);
  });

  test("each view and action names roles the API knows", () => {
    const known = ["admin", "ops", "service", "underwriter", "finance", "sales"];
    for (const v of VIEWS) for (const r of v.roles) expect(known).toContain(r);
    for (const roles of Object.values(ACTIONS)) for (const r of roles) expect(known).toContain(r);
  });
});

describe("where the console lives", () => {
  test("under the emulator's prefix, a stage, or the root", () => {
    const local = "http://127.0.0.1:4566/restapis/abc/v1/_user_request_/console/";
    expect(routerBase(local)).toBe("/restapis/abc/v1/_user_request_/console");
    expect(apiBase(local)).toBe("http://127.0.0.1:4566/restapis/abc/v1/_user_request_");
    expect(apiBase("https://x.execute-api.aws.com/v1/console/")).toBe("https://x.execute-api.aws.com/v1");
    expect(routerBase("https://ops.example.com/console/")).toBe("/console");
  });
});

const rule = (shares: number[], extra: Partial<RuleRow> = {}): RuleRow => ({
  region_code: "310000",
  service_type: "medicine_delivery",
  providers: shares.map((s, i) => ({
    provider_id: `P${i}`,
    share_pct: s,
    weight: 1,
    daily_capacity: 10,
    exclusive: false,
    scope: "regional",
  })),
  ...extra,
});

describe("dispatch rules", () => {
  test("the live sum must reach exactly 100", () => {
    expect(shareSum(rule([60, 30]))).toBe(90);
    expect(ruleProblems([rule([60, 30])]).get(0)).toEqual(["sum"]);
    expect(ruleProblems([rule([60, 40])]).size).toBe(0);
    expect(ruleProblems([rule([60, 50])]).get(0)).toEqual(["sum"]);
  });

  test("duplicates, empty rules and two exclusives are refused", () => {
    const dup = rule([50, 50]);
    dup.providers[1].provider_id = "P0";
    expect(ruleProblems([dup]).get(0)).toContain("duplicateProvider");
    expect(ruleProblems([rule([100]), rule([100])]).get(1)).toContain("duplicateScope");
    expect(ruleProblems([rule([])]).get(0)).toContain("empty");
    const ex = rule([50, 50]);
    ex.providers.forEach((p) => (p.exclusive = true));
    expect(ruleProblems([ex]).get(0)).toContain("exclusive");
  });

  test("versions differ rule by rule, whatever the providers' order", () => {
    const a = rule([60, 40]);
    const reordered = { ...a, providers: [...a.providers].reverse() };
    expect(diffRules([a], [reordered])).toEqual([]);
    const b = rule([50, 50]);
    const other = rule([100], { region_code: "110000" });
    const d = diffRules([a], [b, other]);
    expect(d.map((x) => [x.scope, x.change])).toEqual([
      ["110000 × medicine_delivery", "added"],
      ["310000 × medicine_delivery", "changed"],
    ]);
    expect(diffRules([a, other], [a]).map((x) => x.change)).toEqual(["removed"]);
  });
});

describe("claim approval", () => {
  test("cents without floating point", () => {
    expect(toCents("1234.5")).toBe(123450);
    expect(toCents("0.07")).toBe(7);
    expect(toCents("1.234")).toBeNull();
    expect(toCents("abc")).toBeNull();
    expect(fromCents(123450)).toBe("1234.50");
    expect(fromCents(-5)).toBe("-0.05");
  });

  test("bounded by the claim and by the remaining sum insured", () => {
    expect(approvalCeiling("800.00", "500.00")).toBe(50000);
    expect(approvalCeiling("300.00", "500.00")).toBe(30000);
    expect(approvalCeiling("300.00", null)).toBe(30000);
    expect(checkApproval("500.00", 50000)).toBeNull();
    expect(checkApproval("500.01", 50000)).toBe("overCeiling");
    expect(checkApproval("0", 50000)).toBe("notPositive");
    expect(checkApproval("12.345", 50000)).toBe("invalid");
  });
});

describe("overview", () => {
  const data = {
    today: { premium: "120.00", policies_issued: 3, zeta_new: 1, note: "x" },
    month: { premium: "900.00", policies_issued: 20, bookings: 4 },
    series: [
      { date: "2026-11-02", policies_issued: 2, premium: "10.00" },
      { date: "2026-11-01", policies_issued: 1, premium: "5.00" },
    ],
    dead_letters: { webhook: 2, quota: 0 },
    manual_queue: 5,
  };
  test("known figures first, in order; new ones the API adds still show", () => {
    expect(figures(data).map((f) => f.key)).toEqual(["policies_issued", "premium", "bookings", "zeta_new"]);
    expect(figures(data).find((f) => f.key === "bookings")).toEqual({ key: "bookings", today: null, month: 4 });
  });
  test("gauges outside today/month are flattened", () => {
    expect(gauges(data)).toEqual([
      ["dead_letters.webhook", 2],
      ["dead_letters.quota", 0],
      ["manual_queue", 5],
    ]);
  });
  test("the API's shape: this_month, a month label, {queue, depth} lists and day series", () => {
    const api = {
      as_of: "2026-12-01T08:00:00Z",
      month: "2026-12",
      today: { bookings: 2, fulfilment_rate: null, premium: "10.00" },
      this_month: { bookings: 9, fulfilment_rate: 87.5, premium: "99.00" },
      series: [{ day: "2026-12-01", bookings: 2 }],
      manual_queue: 1,
      open_sla_breaches: 0,
      dead_letters: [
        { queue: "DispatchDLQ", depth: 3 },
        { queue: "QuotaDLQ", depth: null },
      ],
    };
    expect(figures(api)).toEqual([
      { key: "premium", today: "10.00", month: "99.00" },
      { key: "bookings", today: 2, month: 9 },
      { key: "fulfilment_rate", today: null, month: 87.5 },
    ]);
    expect(gauges(api)).toEqual([
      ["manual_queue", 1],
      ["open_sla_breaches", 0],
      ["dead_letters.DispatchDLQ", 3],
      ["dead_letters.QuotaDLQ", null],
    ]);
    expect(seriesOf(api).dates).toEqual(["2026-12-01"]);
  });
  test("the series is ordered by date, one line per figure", () => {
    const s = seriesOf(data, ["policies_issued", "premium", "absent"]);
    expect(s.dates).toEqual(["2026-11-01", "2026-11-02"]);
    expect(s.lines).toEqual([
      { key: "policies_issued", values: [1, 2] },
      { key: "premium", values: [5, 10] },
    ]);
  });
});

describe("finance", () => {
  test("rows sum per period for the chart, in cents", () => {
    const row = (period: string, premium: string, policies: number) => ({
      period,
      channel_id: "c",
      product_code: "p",
      plan_code: "basic",
      policies,
      premium,
      refunds: "0",
      claims: 0,
      claim_amount: "0.10",
    });
    const s = byPeriod([row("2026-11-02", "0.20", 1), row("2026-11-01", "0.10", 2), row("2026-11-02", "0.10", 1)]);
    expect(s.periods).toEqual(["2026-11-01", "2026-11-02"]);
    expect(s.premium).toEqual([0.1, 0.3]);
    expect(s.policies).toEqual([2, 2]);
    expect(s.claimAmount).toEqual([0.1, 0.2]);
  });
  test("file names and months", () => {
    expect(statementFile("ch/1", "2026-11")).toBe("statement-ch_1-2026-11.csv");
    expect(monthOf(new Date(2026, 0, 5))).toBe("2026-01");
    expect(formatDuration(3900, "zh-CN")).toBe("1小时5分");
    expect(formatDuration(-120, "en")).toBe("-2m");
  });
});

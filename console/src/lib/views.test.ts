import { describe, expect, test } from "vitest";
import { policyQuery, serviceRequestBody, workOrderQuery } from "./filters";
import { blankSpec, parseSpec, specOf } from "./product";
import { limitProblems, limitsOf, regionList, rowsOf, trendOf } from "./sla";

describe("work order filters", () => {
  test("blanks are dropped, text trimmed, overdue only when set", () => {
    expect(workOrderQuery({ provider_id: "  ", region: " 3101 ", status: "", overdue: false })).toEqual({
      limit: 50,
      region: "3101",
    });
    expect(workOrderQuery({ provider_id: "p1", service_type: "checkup", status: "accepted", overdue: true }, 20, "c")).toEqual(
      { limit: 20, provider_id: "p1", service_type: "checkup", status: "accepted", overdue: true, cursor: "c" },
    );
  });
});

describe("policy lookup", () => {
  test("by number or insured; a channel order id needs its channel", () => {
    expect(policyQuery("number", " P-1 ")).toEqual({ number: "P-1" });
    expect(policyQuery("insured_id", "ins-9")).toEqual({ insured_id: "ins-9" });
    expect(policyQuery("channel_order_id", "o-1")).toBeNull();
    expect(policyQuery("channel_order_id", "o-1", "shop-a")).toEqual({ channel_id: "shop-a", channel_order_id: "o-1" });
    expect(policyQuery("number", "  ")).toBeNull();
  });
});

describe("service requests", () => {
  test("an e-policy is sent by email; anything needs an email or a postal address", () => {
    expect(serviceRequestBody({ policy_number: "P1", kind: "e_policy", postal_address: "Shanghai" })).toBe("sr.needEmail");
    expect(serviceRequestBody({ policy_number: "P1", kind: "invoice", email: " " })).toBe("sr.needAddress");
    expect(serviceRequestBody({ policy_number: " P1 ", kind: "e_policy", email: "a@b.cn", invoice_title: "x" })).toEqual({
      policy_number: "P1",
      kind: "e_policy",
      email: "a@b.cn",
    });
    expect(serviceRequestBody({ policy_number: "P1", kind: "invoice", postal_address: "上海", invoice_title: "ACME" })).toEqual(
      { policy_number: "P1", kind: "invoice", postal_address: "上海", invoice_title: "ACME" },
    );
  });
});

describe("SLA limits", () => {
  test("each node × service type once, minutes within 1..30 days, * for any service", () => {
    const rows = rowsOf([
      { node: "accepted", minutes: 30 },
      { node: "accepted", service_type: "checkup", minutes: 20 },
    ]);
    expect(rows[0].service_type).toBe("*");
    expect(limitProblems(rows)).toEqual([]);
    expect(limitProblems([...rows, { node: "accepted", service_type: "", minutes: 5 }])).toEqual([
      { row: 2, problem: "duplicate" },
    ]);
    expect(limitProblems([{ node: "served", service_type: "Bad Type", minutes: 0 }])).toEqual([
      { row: 0, problem: "serviceType" },
      { row: 0, problem: "minutes" },
    ]);
    expect(limitProblems([{ node: "served", service_type: "*", minutes: 43201 }])).toEqual([{ row: 0, problem: "minutes" }]);
    expect(limitsOf([{ node: "served", service_type: " ", minutes: 60 }])).toEqual([
      { node: "served", service_type: "*", minutes: 60 },
    ]);
  });

  test("remote regions typed freely", () => {
    expect(regionList("310000, 320000\n310000 ，330000")).toEqual(["310000", "320000", "330000"]);
  });

  test("the trend runs oldest first, breach rate in percent", () => {
    const r = (day: string, rate: number) => ({
      id: day,
      day,
      kind: "daily" as const,
      formats: ["csv" as const],
      generated_at: `${day}T01:00:00Z`,
      stats: { overall: { orders: 10, completed: 8, breaches: 1, breach_rate: rate } },
    });
    expect(trendOf([r("2026-12-02", 0.125), r("2026-12-01", 0)])).toEqual([
      { day: "2026-12-01", orders: 10, completed: 8, breaches: 1, breachRate: 0 },
      { day: "2026-12-02", orders: 10, completed: 8, breaches: 1, breachRate: 12.5 },
    ]);
  });
});

describe("product specs", () => {
  test("a version becomes a spec without what the server sets; typed JSON is checked", () => {
    const spec = blankSpec("pet-basic", "Pet basic", "pet_health");
    const version = { ...spec, version: 2, status: "published" as const, published_at: "x", created_at: "y", insurer_id: null };
    const s = specOf(version as never);
    expect(Object.keys(s)).not.toContain("version");
    expect(Object.keys(s)).not.toContain("insurer_id");
    expect(parseSpec(JSON.stringify(s), "pet-basic")).toEqual({ spec: s });
    expect(parseSpec(JSON.stringify(s), "other")).toEqual({ error: "shape" });
    expect(parseSpec("{", undefined)).toEqual({ error: "json" });
    expect(parseSpec("[]", undefined)).toEqual({ error: "shape" });
  });
});

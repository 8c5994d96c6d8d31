import { describe, expect, test } from "vitest";
import { changed, formOf, listValues, paramsOf, putRule, ruleOf, type Rule } from "./risk";

const block: Rule = {
  id: "blocked",
  kind: "blocklist",
  stages: ["underwrite", "claim"],
  action: "refuse",
  mode: "enforce",
  description: "",
  field: "holder",
  values: ["139 0000 0009", "a", "b", "c"],
  counter: null,
  limit: null,
  above: null,
  factor: null,
  when: null,
};

describe("risk rules in the console", () => {
  test("a form makes only the fields its kind uses; a rate factor prices underwriting only", () => {
    expect(ruleOf({ id: " r1 ", kind: "amount", stages: ["claim"], above: " 500 ", action: "review" })).toEqual({
      id: "r1",
      kind: "amount",
      stages: ["claim"],
      mode: "enforce",
      action: "review",
      description: "",
      above: "500",
    });
    const rate = ruleOf({ id: "sh", kind: "rate_factor", stages: ["claim"], factor: "1.1", region_prefix: "31", mode: "shadow" });
    expect(rate.stages).toEqual(["underwrite"]);
    expect(rate.when).toEqual({ region_prefix: "31" });
    expect(rate.mode).toBe("shadow");
    expect(ruleOf({ id: "any", kind: "rate_factor", factor: "2" }).when).toBeUndefined();
  });

  test("list values one a line or comma separated, trimmed, without repeats", () => {
    expect(listValues(" a\nb, c，a\n\n")).toEqual(["a", "b", "c"]);
    expect(ruleOf(formOf(block)).values).toEqual(block.values);
  });

  test("parameters in one line", () => {
    expect(paramsOf(block)).toBe("holder: 139 0000 0009, a, b … (+1)");
    expect(paramsOf({ ...block, kind: "velocity", counter: "policies_per_holder_day", limit: 3 })).toBe("policies_per_holder_day ≤ 3");
    expect(paramsOf({ ...block, kind: "rate_factor", factor: "1.1", when: { region_prefix: "31", min_age_months: 96 } })).toBe(
      "× 1.1 (region 31*, age ≥ 96m)",
    );
  });

  test("a draft puts a rule in place of the one edited, and knows when it differs", () => {
    const draft = [ruleOf(formOf(block))];
    expect(changed(draft, [block])).toBe(false);
    const renamed = putRule(draft, { ...draft[0], id: "blocked-2", mode: "shadow" }, "blocked");
    expect(renamed.map((r) => [r.id, r.mode])).toEqual([["blocked-2", "shadow"]]);
    expect(changed(renamed, [block])).toBe(true);
    expect(putRule(draft, { ...draft[0], id: "new" }).map((r) => r.id)).toEqual(["blocked", "new"]);
  });
});

// Dispatch rules: per region × service type, the providers' shares must add up to exactly 100.

export interface ShareRow {
  provider_id: string;
  share_pct: number;
  weight: number;
  daily_capacity: number;
  exclusive: boolean;
  scope: "national" | "regional";
}

export interface RuleRow {
  region_code: string;
  service_type: string;
  providers: ShareRow[];
}

export function shareSum(rule: RuleRow): number {
  return rule.providers.reduce((n, p) => n + (Number.isFinite(p.share_pct) ? p.share_pct : 0), 0);
}

export type RuleProblem = "sum" | "empty" | "duplicateProvider" | "duplicateScope" | "exclusive";

/** What stops a rule set from being published, per rule index (empty when it may be). */
export function ruleProblems(rules: RuleRow[]): Map<number, RuleProblem[]> {
  const out = new Map<number, RuleProblem[]>();
  const seen = new Set<string>();
  rules.forEach((r, i) => {
    const problems: RuleProblem[] = [];
    if (r.providers.length === 0) problems.push("empty");
    const exclusive = r.providers.filter((p) => p.exclusive);
    if (exclusive.length > 1) problems.push("exclusive");
    if (r.providers.length > 0 && shareSum(r) !== 100) problems.push("sum");
    const ids = r.providers.map((p) => p.provider_id);
    if (new Set(ids).size !== ids.length) problems.push("duplicateProvider");
    const scope = `${r.region_code}|${r.service_type}`;
    if (seen.has(scope)) problems.push("duplicateScope");
    seen.add(scope);
    if (problems.length) out.set(i, problems);
  });
  return out;
}

export interface RuleDiff {
  scope: string;
  change: "added" | "removed" | "changed";
  before?: RuleRow;
  after?: RuleRow;
}

const scopeOf = (r: RuleRow) => `${r.region_code} × ${r.service_type}`;

function same(a: RuleRow, b: RuleRow): boolean {
  const norm = (r: RuleRow) =>
    JSON.stringify(
      [...r.providers]
        .sort((x, y) => x.provider_id.localeCompare(y.provider_id))
        .map((p) => [p.provider_id, p.share_pct, p.weight, p.daily_capacity, !!p.exclusive, p.scope]),
    );
  return norm(a) === norm(b);
}

/** Rule-by-rule difference between two versions of the rule set. */
export function diffRules(before: RuleRow[], after: RuleRow[]): RuleDiff[] {
  const b = new Map(before.map((r) => [scopeOf(r), r]));
  const a = new Map(after.map((r) => [scopeOf(r), r]));
  const out: RuleDiff[] = [];
  for (const [scope, r] of a) {
    const old = b.get(scope);
    if (!old) out.push({ scope, change: "added", after: r });
    else if (!same(old, r)) out.push({ scope, change: "changed", before: old, after: r });
  }
  for (const [scope, r] of b) if (!a.has(scope)) out.push({ scope, change: "removed", before: r });
  return out.sort((x, y) => x.scope.localeCompare(y.scope));
}

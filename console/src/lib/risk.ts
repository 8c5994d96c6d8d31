import type { components } from "../api/schema";

// Risk rules as the console edits them: a draft of the rule set, each rule's parameters in words,
// and the rule a form's values make (only the fields its kind uses, as the API expects).
export type Rule = components["schemas"]["RiskRule-Output"];
export type RuleIn = components["schemas"]["RiskRule-Input"];
export type Kind = Rule["kind"];
export type Stage = Rule["stages"][number];

export const KINDS: Kind[] = ["blocklist", "velocity", "amount", "rate_factor"];
export const STAGES: Stage[] = ["underwrite", "claim", "booking"];
export const FIELDS = ["holder", "insured", "device", "address"] as const;
export const COUNTERS = ["claims_per_insured_30d", "policies_per_holder_day", "refunds_after_claim"] as const;

export interface RuleForm {
  id: string;
  kind: Kind;
  stages?: Stage[];
  mode?: "enforce" | "shadow";
  action?: "refuse" | "review";
  description?: string;
  field?: (typeof FIELDS)[number];
  values?: string;
  counter?: (typeof COUNTERS)[number];
  limit?: number;
  above?: string;
  factor?: string;
  region_prefix?: string;
  species?: string;
  min_age_months?: number;
}

const blank = (s: string | undefined | null): boolean => s === undefined || s === null || s.trim() === "";

/** The list values typed one a line or separated by commas, trimmed, blanks and repeats dropped. */
export function listValues(text: string | undefined): string[] {
  const out: string[] = [];
  for (const v of (text ?? "").split(/[\n,，]/)) {
    const s = v.trim();
    if (s && !out.includes(s)) out.push(s);
  }
  return out;
}

/** The rule a form's values make: a rate factor prices underwriting only. */
export function ruleOf(f: RuleForm): RuleIn {
  const base: RuleIn = {
    id: f.id.trim(),
    kind: f.kind,
    stages: f.kind === "rate_factor" ? ["underwrite"] : (f.stages ?? []),
    mode: f.mode ?? "enforce",
    action: f.action ?? "refuse",
    description: (f.description ?? "").trim(),
  };
  if (f.kind === "blocklist") return { ...base, field: f.field, values: listValues(f.values) };
  if (f.kind === "velocity") return { ...base, counter: f.counter, limit: f.limit };
  if (f.kind === "amount") return { ...base, above: (f.above ?? "").trim() };
  const when = {
    ...(blank(f.region_prefix) ? {} : { region_prefix: f.region_prefix!.trim() }),
    ...(blank(f.species) ? {} : { species: f.species!.trim() }),
    ...(f.min_age_months === undefined || f.min_age_months === null ? {} : { min_age_months: f.min_age_months }),
  };
  return { ...base, factor: (f.factor ?? "").trim(), ...(Object.keys(when).length ? { when } : {}) };
}

/** The form's values for a rule (to edit it). */
export function formOf(r: Rule | RuleIn): RuleForm {
  return {
    id: r.id,
    kind: r.kind,
    stages: r.stages,
    mode: r.mode ?? "enforce",
    action: r.action ?? "refuse",
    description: r.description ?? "",
    field: r.field ?? undefined,
    values: (r.values ?? []).join("\n"),
    counter: r.counter ?? undefined,
    limit: r.limit ?? undefined,
    above: r.above === null || r.above === undefined ? undefined : String(r.above),
    factor: r.factor === null || r.factor === undefined ? undefined : String(r.factor),
    region_prefix: r.when?.region_prefix ?? undefined,
    species: r.when?.species ?? undefined,
    min_age_months: r.when?.min_age_months ?? undefined,
  };
}

/** The parameters of a rule as one short line (language-neutral: field names and values). */
export function paramsOf(r: Rule | RuleIn): string {
  if (r.kind === "blocklist") {
    const vs = r.values ?? [];
    const shown = vs.slice(0, 3).join(", ") + (vs.length > 3 ? ` … (+${vs.length - 3})` : "");
    return `${r.field}: ${shown}`;
  }
  if (r.kind === "velocity") return `${r.counter} ≤ ${r.limit}`;
  if (r.kind === "amount") return `> ${r.above}`;
  const w = r.when ?? {};
  const cond = [
    w.region_prefix ? `region ${w.region_prefix}*` : null,
    w.species ? `species ${w.species}` : null,
    w.min_age_months !== null && w.min_age_months !== undefined ? `age ≥ ${w.min_age_months}m` : null,
  ].filter(Boolean);
  return `× ${r.factor}${cond.length ? ` (${cond.join(", ")})` : ""}`;
}

/** A draft with one rule put in (replacing the rule of the same id, or the one being edited). */
export function putRule(draft: RuleIn[], rule: RuleIn, replacing?: string): RuleIn[] {
  const at = draft.findIndex((r) => r.id === (replacing ?? rule.id));
  if (at < 0) return [...draft, rule];
  return draft.map((r, i) => (i === at ? rule : r));
}

/** Whether a draft differs from the rules in force (what a publish would change). */
export function changed(draft: RuleIn[], inForce: Rule[]): boolean {
  return JSON.stringify(draft.map(ruleOf2)) !== JSON.stringify(inForce.map(ruleOf2));
}

function ruleOf2(r: Rule | RuleIn): RuleIn {
  return ruleOf(formOf(r));
}

// A product version as an editable spec: the fields POST/PUT /ops/products take, nothing the server sets.
import type { components } from "../api/schema";

type Version = components["schemas"]["ProductVersion"];
export type Spec = components["schemas"]["ProductSpec"];

const SERVER_SET = ["version", "status", "published_at", "created_at"] as const;

export function specOf(v: Version): Spec {
  const copy: Record<string, unknown> = { ...v };
  for (const k of SERVER_SET) delete copy[k];
  if (copy.insurer_id === null) delete copy.insurer_id;
  return copy as unknown as Spec;
}

/** A starting spec for a new product: one plan with one benefit. */
export function blankSpec(code: string, name: string, kind: Spec["kind"]): Spec {
  return {
    code,
    name,
    kind,
    description: "",
    refund: { kind: "pro_rata" },
    plans: [
      {
        code: "basic",
        name: "Basic",
        base_premium: "99.00",
        sum_insured: "5000.00",
        term_days: 365,
        benefits: [{ code: "checkup", name: "Checkup", kind: "service_offline", service_type: "checkup", quota: 1 }],
      },
    ],
  };
}

export type SpecParse = { spec: Spec } | { error: "json" | "shape" };

/** The spec typed in the editor, or why it cannot be sent (the server validates the rest). */
export function parseSpec(text: string, code?: string): SpecParse {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { error: "json" };
  }
  const o = raw as Partial<Spec> | null;
  if (!o || typeof o !== "object" || Array.isArray(o) || typeof o.name !== "string" || !Array.isArray(o.plans) || !o.refund)
    return { error: "shape" };
  if (code !== undefined && o.code !== code) return { error: "shape" };
  return { spec: o as Spec };
}

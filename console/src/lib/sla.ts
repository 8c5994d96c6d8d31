// The SLA configuration editor's rows and the daily timeliness trend.
import type { components } from "../api/schema";

type Limit = components["schemas"]["SlaLimit"];
type Report = components["schemas"]["ReportEntry"];

export const LIMIT_NODES = ["accepted", "appointment_confirmed", "shipped", "served", "completed", "exception_handled"] as const;
export const OPEN_NODES = ["assigned", "accepted", "appointment_confirmed", "shipped", "served", "exception_raised"] as const;
export const ANY_SERVICE = "*";
export const MAX_MINUTES = 30 * 24 * 60;

export interface LimitRow {
  node: Limit["node"];
  service_type: string;
  minutes: number | null;
}

export type LimitProblem = { row: number; problem: "minutes" | "duplicate" | "serviceType" };

/** What is wrong with the rows (each node × service type once; minutes 1..30 days; a service type or *). */
export function limitProblems(rows: LimitRow[]): LimitProblem[] {
  const seen = new Set<string>();
  const out: LimitProblem[] = [];
  rows.forEach((r, i) => {
    const st = r.service_type.trim() || ANY_SERVICE;
    if (st !== ANY_SERVICE && !/^[a-z][a-z0-9_]{0,39}$/.test(st)) out.push({ row: i, problem: "serviceType" });
    if (r.minutes === null || !Number.isInteger(r.minutes) || r.minutes < 1 || r.minutes > MAX_MINUTES)
      out.push({ row: i, problem: "minutes" });
    const key = `${r.node}|${st}`;
    if (seen.has(key)) out.push({ row: i, problem: "duplicate" });
    seen.add(key);
  });
  return out;
}

export function rowsOf(limits: Limit[]): LimitRow[] {
  return limits.map((l) => ({ node: l.node, service_type: l.service_type ?? ANY_SERVICE, minutes: l.minutes }));
}

export function limitsOf(rows: LimitRow[]): Limit[] {
  return rows.map((r) => ({ node: r.node, service_type: r.service_type.trim() || ANY_SERVICE, minutes: r.minutes ?? 0 }));
}

/** Region codes typed one per line or separated by commas or spaces. */
export function regionList(text: string): string[] {
  return [...new Set(text.split(/[\s,，]+/).map((s) => s.trim()).filter(Boolean))];
}

export interface TrendPoint {
  day: string;
  orders: number;
  completed: number;
  breaches: number;
  breachRate: number; // percent
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** The daily reports' overall figures, oldest first (the list comes newest first). */
export function trendOf(reports: Report[]): TrendPoint[] {
  return reports
    .filter((r) => r.kind === "daily")
    .map((r) => {
      const o = ((r.stats ?? {}) as { overall?: Record<string, unknown> }).overall ?? {};
      return {
        day: r.day,
        orders: num(o.orders),
        completed: num(o.completed),
        breaches: num(o.breaches),
        breachRate: Math.round(num(o.breach_rate) * 1000) / 10,
      };
    })
    .sort((a, b) => a.day.localeCompare(b.day));
}

/** A report file's content as a download (CSV text, or base64 for binary formats). */
export function fileBlob(file: { text?: string | null; base64?: string | null; content_type: string }): Blob {
  if (file.text !== null && file.text !== undefined) return new Blob([file.text], { type: file.content_type });
  const bin = atob(file.base64 ?? "");
  return new Blob([Uint8Array.from(bin, (c) => c.charCodeAt(0))], { type: file.content_type });
}

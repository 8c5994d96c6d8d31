// GET /ops/overview: today's and this month's counter figures and a 30-day daily series. The view is
// written against the shape, read loosely: any numeric figure shows, known ones with their label.

export interface OverviewData {
  today: Record<string, unknown>;
  this_month?: Record<string, unknown>;
  month?: Record<string, unknown> | string;
  series: Record<string, unknown>[];
  [k: string]: unknown;
}

const SECTIONS = ["today", "this_month", "month", "series"];

function monthFigures(data: OverviewData): Record<string, unknown> {
  if (data.this_month && typeof data.this_month === "object") return data.this_month;
  return data.month && typeof data.month === "object" ? data.month : {};
}

export interface Figure {
  key: string;
  today: number | string | null;
  month: number | string | null;
}

const ORDER = [
  "policies_issued",
  "premium",
  "cancellations",
  "refunds",
  "claims_opened",
  "claims_paid",
  "bookings",
  "fulfilled",
  "fulfilment_rate",
  "claims_paid_amount",
  "sla_breaches",
  "appointments_cancelled",
];

const isFigure = (v: unknown): v is number | string =>
  typeof v === "number" || (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v));

/** The figures to show, known ones first in a fixed order, then any others the API adds. */
export function figures(data: OverviewData): Figure[] {
  const keys = new Set<string>();
  const month = monthFigures(data);
  for (const src of [data.today ?? {}, month])
    for (const [k, v] of Object.entries(src)) if (isFigure(v) || v === null) keys.add(k);
  const rank = (k: string) => {
    const i = ORDER.indexOf(k);
    return i < 0 ? ORDER.length : i;
  };
  return [...keys]
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((key) => ({
      key,
      today: isFigure(data.today?.[key]) ? (data.today[key] as number | string) : null,
      month: isFigure(month[key]) ? (month[key] as number | string) : null,
    }));
}

/** Gauges outside today/month (queue sizes, dead-letter depths): flattened to name → number
 *  (a list of {queue, depth} becomes one gauge per queue; an unreadable depth is null). */
export function gauges(data: OverviewData): [string, number | null][] {
  const out: [string, number | null][] = [];
  const walk = (prefix: string, v: unknown) => {
    if (typeof v === "number") out.push([prefix, v]);
    else if (Array.isArray(v)) {
      for (const item of v)
        if (item && typeof item === "object" && "queue" in item)
          out.push([`${prefix}.${String(item.queue)}`, typeof item.depth === "number" ? item.depth : null]);
    } else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
  };
  for (const [k, v] of Object.entries(data)) if (!SECTIONS.includes(k)) walk(k, v);
  return out;
}

export interface SeriesData {
  dates: string[];
  lines: { key: string; values: number[] }[];
}

/** The 30-day series as one line per numeric field, by date. */
export function seriesOf(data: OverviewData, wanted?: string[]): SeriesData {
  const rows = [...(data.series ?? [])];
  const dateKey = (r: Record<string, unknown>) => String(r.date ?? r.day ?? r.business_date ?? "");
  rows.sort((a, b) => dateKey(a).localeCompare(dateKey(b)));
  const keys = new Set<string>();
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (isFigure(v) && !["date", "day"].includes(k)) keys.add(k);
  const use = wanted ? wanted.filter((k) => keys.has(k)) : [...keys];
  return {
    dates: rows.map(dateKey),
    lines: use.map((key) => ({ key, values: rows.map((r) => (isFigure(r[key]) ? Number(r[key]) : 0)) })),
  };
}

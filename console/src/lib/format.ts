// Dates and counts for people: the language's own conventions.

export function formatTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale, { hour12: false });
}

export function formatDuration(seconds: number | null | undefined, locale: string): string {
  if (seconds === null || seconds === undefined) return "—";
  const neg = seconds < 0;
  let s = Math.abs(Math.round(seconds));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  const zh = locale.startsWith("zh");
  const text = zh ? `${h ? `${h}小时` : ""}${m}分` : `${h ? `${h}h ` : ""}${m}m`;
  return neg ? `-${text}` : text;
}

export function percent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return `${value.toFixed(digits)}%`;
}

/** The YYYY-MM of a date, for monthly statements. */
export function monthOf(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
}

export function dayOf(d: Date): string {
  return `${monthOf(d)}-${String(d.getDate()).padStart(2, "0")}`;
}

import { Tag } from "antd";
import { Tone } from "../../components/Tone";
import { useI18n } from "../../i18n";
import type { MsgKey } from "../../messages";

/** Saves text (utf-8) or base64 content as a file the browser downloads. */
export function saveFile(name: string, content: string, encoding: "utf-8" | "base64", type: string): void {
  const body =
    encoding === "base64" ? Uint8Array.from(atob(content), (c) => c.charCodeAt(0)) : new TextEncoder().encode(content);
  const url = URL.createObjectURL(new Blob([body], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

const TONE: Record<string, "good" | "bad" | "warn"> = {
  requested: "warn",
  issued: "warn",
  approved: "good",
  settled: "good",
  paid: "good",
  rejected: "bad",
  clean: "good",
  differences: "bad",
};

/** A status as a tag people read (its colour is not the only cue: the text says it). */
export function StatusTag({ status }: { status: string }) {
  const { t } = useI18n();
  const key = (
    status === "clean" ? "money.clean" : status === "differences" ? "money.hasDifferences" : `money.s.${status}`
  ) as MsgKey;
  const tone = TONE[status];
  return tone ? <Tone tone={tone}>{t(key)}</Tone> : <Tag>{t(key)}</Tag>;
}

export function lastMonth(now: Date = new Date()): string {
  const d = new Date(now.getFullYear(), now.getMonth() - 1, 1);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
}

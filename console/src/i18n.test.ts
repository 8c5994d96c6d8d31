import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { initialLang, interpolate, translate } from "./i18n";
import { en, zh } from "./messages";

test("Chinese by default, English as a setting", () => {
  expect(initialLang(null)).toBe("zh-CN");
  expect(initialLang("fr")).toBe("zh-CN");
  expect(initialLang("en")).toBe("en");
  expect(translate("zh-CN", "nav.dispatch")).toBe("派单");
  expect(translate("en", "dispatch.sum", { sum: 90 })).toBe("Shares add up to 90%");
  expect(interpolate("{a} {b}", { a: 1 })).toBe("1 {b}");
});

test("both languages have every message, with the same placeholders, none empty", () => {
  expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
  const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const k of Object.keys(zh) as (keyof typeof zh)[]) {
    expect(zh[k].trim(), k).not.toBe("");
    expect(en[k].trim(), k).not.toBe("");
    expect(holes(en[k]), k).toEqual(holes(zh[k]));
  }
});

test("every literal message key the views use exists", () => {
  const dir = fileURLToPath(new URL(".", import.meta.url));
  const views = readdirSync(join(dir, "views"), { recursive: true, encoding: "utf8" }).filter((f) => /\.tsx?$/.test(f));
  const files = ["App.tsx", "SignIn.tsx", ...views.map((f) => `views/${f}`)];
  const used = new Set<string>();
  for (const f of files) {
    for (const m of readFileSync(join(dir, f), "utf8").matchAll(/\bt\("([\w.]+)"/g)) used.add(m[1]);
  }
  expect(used.size).toBeGreaterThan(50);
  for (const k of used) expect(Object.keys(zh), k).toContain(k);
});

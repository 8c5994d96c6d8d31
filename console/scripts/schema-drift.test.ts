// The typed client's types are generated from ../openapi.json: this fails when either moved without
// the other (regenerate with `npm run api-types`).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import { expect, test } from "vitest";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

test("src/api/schema.d.ts is what openapi-typescript makes of openapi.json", async () => {
  const spec = JSON.parse(readFileSync(here("../../openapi.json"), "utf8"));
  const fresh = astToString(await openapiTS(spec, { defaultNonNullable: false }));
  const committed = readFileSync(here("../src/api/schema.d.ts"), "utf8");
  const body = (s: string) => s.slice(s.indexOf("export "));
  expect(body(committed).trim(), "schema.d.ts drifted from openapi.json: run `npm run api-types`").toBe(body(fresh).trim());
});

test("every operation the console calls exists in openapi.json", () => {
  const spec = JSON.parse(readFileSync(here("../../openapi.json"), "utf8")) as { paths: Record<string, unknown> };
  const src = ["views/Dispatch.tsx", "views/WorkOrder.tsx", "views/Partners.tsx", "views/ClaimPage.tsx"]
    .map((f) => readFileSync(here(`../src/${f}`), "utf8"))
    .join("\n");
  const called = [...src.matchAll(/client\.(?:GET|POST|PUT|DELETE|PATCH)\("([^"]+)"/g)].map((m) => m[1]);
  expect(called.length).toBeGreaterThan(10);
  for (const path of called) expect(Object.keys(spec.paths), path).toContain(path);
});

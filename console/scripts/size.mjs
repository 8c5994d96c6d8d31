// The console's shipped size: the JS a first visit loads (the entry and its static imports),
// gzipped, against the 350 KB budget; and the whole build for reference.
//   node scripts/size.mjs [--json]
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;
const html = readFileSync(join(dist, "index.html"), "utf8");
const entries = [...html.matchAll(/(?:src|href)="\.?\/?(assets\/[^"]+\.(?:js|css))"|import\("\.?\/?(assets\/[^"]+\.js)"\)/g)].map(
  (m) => m[1] ?? m[2],
);
// The entry and what it imports statically (dynamic import() chunks load later, on the views that need them).
const initial = [];
const visit = (f) => {
  if (initial.includes(f)) return;
  initial.push(f);
  if (!f.endsWith(".js")) return;
  const code = readFileSync(join(dist, f), "utf8");
  for (const m of code.matchAll(/(?:from|import)\s*["']\.\/([^"']+\.js)["']/g)) visit(`assets/${m[1]}`);
};
entries.forEach(visit);
const gz = (f) => gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
const initialJs = initial.filter((f) => f.endsWith(".js"));
const all = readdirSync(join(dist, "assets")).map((f) => `assets/${f}`);
const out = {
  initial_files: initial,
  initial_js_gzip_kb: +(initialJs.reduce((n, f) => n + gz(f), 0) / 1024).toFixed(1),
  initial_css_gzip_kb: +(initial.filter((f) => f.endsWith(".css")).reduce((n, f) => n + gz(f), 0) / 1024).toFixed(1),
  all_js_gzip_kb: +(all.filter((f) => f.endsWith(".js")).reduce((n, f) => n + gz(f), 0) / 1024).toFixed(1),
  largest_lazy_chunks: all
    .filter((f) => f.endsWith(".js") && !initial.includes(f))
    .map((f) => [f, +(gz(f) / 1024).toFixed(1)])
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5),
  budget_kb: 350,
};
if (process.argv.includes("--json")) console.log(JSON.stringify(out));
else console.log(out);
if (out.initial_js_gzip_kb > out.budget_kb) process.exitCode = 1;

import react from "@vitejs/plugin-react";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";

// The page is served for every route (…/console/claims/CL1 too) and sets <base href="…/console/">
// from its own path. The browser's preload scanner would fetch a relative <script src> against the
// route before that runs, so the entry is imported from an inline module instead, which resolves
// against the base.
function entryAgainstBase(): Plugin {
  return {
    name: "entry-against-base",
    apply: "build",
    transformIndexHtml: {
      order: "post",
      handler(html) {
        const entries: string[] = [];
        let out = html.replace(/<script type="module" crossorigin src="([^"]+)"><\/script>\s*/g, (_, src: string) => {
          entries.push(src);
          return "";
        });
        out = out.replace(/<link rel="modulepreload" crossorigin href="[^"]+">\s*/g, "");
        const loader = `<script type="module">${entries.map((s) => `import(${JSON.stringify(s)});`).join("")}</script>`;
        return out.replace("</body>", `  ${loader}\n  </body>`);
      },
    },
  };
}

// base "./": every file is found relative to the page's <base> (…/console/), so the same build
// serves under the local emulator's prefix, an API stage or a custom domain.
export default defineConfig({
  base: "./",
  plugins: [react(), entryAgainstBase()],
  build: {
    target: "es2022",
    chunkSizeWarningLimit: 1500,
    reportCompressedSize: false,
  },
  test: {
    include: ["src/**/*.test.ts", "scripts/**/*.test.ts"],
    environment: "node",
    testTimeout: 30000,
  },
});

// Bundles the browser side (runtime and each connection's glue) into dist/browser/, one
// self-contained script per entry, which serve() hands out under /bonito/.
import { build } from "esbuild";
import { readdirSync } from "node:fs";

const outDir = process.argv[2] ?? "dist";
const entries = readdirSync("src/frontend/browser").filter((name) => name.endsWith("-entry.ts"));
await Promise.all(
  entries.map((name) =>
    build({
      entryPoints: [`src/frontend/browser/${name}`],
      outfile: `${outDir}/browser/${name.replace("-entry.ts", ".js")}`,
      bundle: true,
      format: "iife",
      platform: "browser",
      target: "es2020",
      minify: true,
      sourcemap: "linked",
      logLevel: "warning",
    }),
  ),
);

// Builds the browser code into dist/, which the Go binary embeds
// (web-sdk/embed.go) and serves under /sdk/v1/ and /console.
import { build } from "esbuild";
import { spawn } from "node:child_process";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";

const pkg = JSON.parse(await readFile(new URL("./package.json", import.meta.url), "utf8"));
const common = {
  bundle: true,
  minify: true,
  sourcemap: "linked",
  target: ["es2022", "chrome110", "firefox115", "safari16"],
  define: { __LOTSE_SDK_VERSION__: JSON.stringify(pkg.version) },
  legalComments: "none",
  logLevel: "warning",
};

await rm("dist", { recursive: true, force: true });
await mkdir("dist", { recursive: true });
await Promise.all([
  // The one-line embed for bank pages: an IIFE that defines window.Lotse.
  build({ ...common, entryPoints: ["src/lotse.ts"], outfile: "dist/lotse.js", format: "iife" }),
  // The ES module build for banks that bundle the SDK (types: dist/types/esm.d.ts).
  build({ ...common, entryPoints: ["src/esm.ts"], outfile: "dist/lotse.esm.js", format: "esm" }),
  // The advisor console app.
  build({ ...common, entryPoints: ["src/console/main.ts"], outfile: "dist/console.js", format: "esm" }),
  copyFile("src/console/console.css", "dist/console.css"),
  // Co-browse test harnesses (cobrowse/browser_test.go and the co-browse
  // benchmark): not part of the SDK and linked from nowhere.
  build({ ...common, entryPoints: ["src/cobrowse/testharness/customer.ts"], outfile: "dist/test/cobrowse-customer.js", format: "iife" }),
  build({ ...common, entryPoints: ["src/cobrowse/testharness/viewer.ts"], outfile: "dist/test/cobrowse-viewer.js", format: "iife" }),
]);
// TypeScript declarations of the ES module build.
await new Promise((resolve, reject) => {
  const p = spawn(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.types.json"], { stdio: "inherit" });
  p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error("tsc declarations failed"))));
});
// Keep the placeholder that lets `go build` embed dist/ before a build.
await writeFile("dist/.gitkeep", "");

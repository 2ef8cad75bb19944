// Vendors the chart library into the Python package: `npm ci && npm run build` (or `make live-page-assets`).
//
// The output is committed (src/amnesty_statistics/static/vendor/), so the wheel and the Docker image
// carry it without Node; tests/unit/statistics/test_live_page_assets.py checks that it is the version
// package-lock.json pins. Deterministic: the same lockfile gives the same bytes.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vendor = join(here, "..", "src", "amnesty_statistics", "static", "vendor");
const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
const modules = join(here, "node_modules");

const chart = lock.packages["node_modules/chart.js"];
const color = lock.packages["node_modules/@kurkle/color"];
const installed = JSON.parse(readFileSync(join(modules, "chart.js", "package.json"), "utf8")).version;
if (installed !== chart.version) {
  throw new Error(`node_modules has chart.js ${installed}, the lockfile ${chart.version}: run npm ci`);
}

// The UMD bundle (with @kurkle/color inside) defines window.Chart; its source map is not shipped.
const bundle = readFileSync(join(modules, "chart.js", "dist", "chart.umd.min.js"), "utf8")
  .replace(/\n\/\/# sourceMappingURL=.*\n?$/, "\n");
const licences = [
  `chart.js ${chart.version}\n\n${readFileSync(join(modules, "chart.js", "LICENSE.md"), "utf8").trim()}`,
  `@kurkle/color ${color.version} (bundled in chart.umd.min.js)\n\n` +
    readFileSync(join(modules, "@kurkle", "color", "LICENSE.md"), "utf8").trim(),
].join("\n\n----------------------------------------------------------------------\n\n");
const manifest = {
  "chart.js": {
    version: chart.version,
    integrity: chart.integrity,
    file: "chart.umd.min.js",
    sha256: createHash("sha256").update(bundle).digest("hex"),
  },
  "@kurkle/color": { version: color.version, integrity: color.integrity, bundledIn: "chart.umd.min.js" },
};

mkdirSync(vendor, { recursive: true });
writeFileSync(join(vendor, "chart.umd.min.js"), bundle);
writeFileSync(join(vendor, "LICENSES.txt"), `${licences}\n`);
writeFileSync(join(vendor, "vendor.json"), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`vendored chart.js ${chart.version} into ${vendor}`);

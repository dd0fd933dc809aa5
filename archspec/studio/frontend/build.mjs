// Bundles CodeMirror 6 into ../static/vendor/codemirror.js (an ES module, minified, with its
// licence notices kept). The output is checked in so `archspec serve` needs no Node.js and no
// CDN; run `npm ci && npm run build` here after changing a version in package.json.
import {build} from "esbuild";
import {fileURLToPath} from "node:url";
import {dirname, join} from "node:path";

const here = dirname(fileURLToPath(import.meta.url));

await build({
  entryPoints: [join(here, "entry.js")],
  outfile: join(here, "..", "static", "vendor", "codemirror.js"),
  bundle: true,
  format: "esm",
  minify: true,
  legalComments: "inline",
  target: ["es2020"],
  banner: {js: "// CodeMirror 6 (MIT, https://codemirror.net), bundled by archspec/studio/frontend/build.mjs"},
  logLevel: "info",
});

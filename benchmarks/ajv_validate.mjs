// The ajv side of benchmarks/validate_vs_ajv.sh: validation throughput of ajv 8
// (draft 2020-12, formats asserted through ajv-formats) on NDJSON files.
//
// usage: node ajv_validate.mjs --schemas DIR [--passes N] FILE.ndjson...
//
// Adds every *.json schema of DIR under omniva:///schemas/<File>.json, the ids the
// engine registers them under, so AnalysisResult's relative "$ref":
// "ClipCandidate.json" resolves the same way. The schema of FILE is its base
// name (AnalysisResult.ndjson -> AnalysisResult.json). For each file: reads it
// whole and splits the lines (untimed), runs one warm-up pass (untimed; lets
// the JIT compile the validator), then N timed passes of JSON.parse(line) +
// validate(doc), and prints one JSON line with the best pass:
//   {"schema","documents","valid","invalid","not_json","bytes","seconds",
//    "documents_per_second","passes","ajv_version"}
// The work per document matches `omniva schema validate --ndjson --schema-only`:
// parse the text, validate, stop at the first error (allErrors: false).
//
// Module resolution: run it with NODE_PATH unset; the imports resolve from
// AJV_PREFIX (default: benchmarks/.ajv next to this file), where
// validate_vs_ajv.sh installs ajv and ajv-formats.

import { readFileSync, readdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const prefix = resolve(process.env.AJV_PREFIX ?? join(here, ".ajv"));
const requireFromPrefix = createRequire(join(prefix, "package.json"));

function usage(message) {
  process.stderr.write(`ajv_validate.mjs: ${message}\n`
    + "usage: node ajv_validate.mjs --schemas DIR [--passes N] FILE.ndjson...\n");
  process.exit(2);
}

const args = process.argv.slice(2);
let schemaDir = null;
let passes = 3;
const files = [];
for (let i = 0; i < args.length; ++i) {
  if (args[i] === "--schemas") schemaDir = args[++i];
  else if (args[i] === "--passes") passes = Number.parseInt(args[++i], 10);
  else if (args[i].startsWith("--")) usage(`unknown option ${args[i]}`);
  else files.push(args[i]);
}
if (!schemaDir) usage("--schemas DIR is required");
if (!(passes >= 1)) usage("--passes must be a positive integer");
if (files.length === 0) usage("no NDJSON file given");

let Ajv2020, addFormats, ajvVersion;
try {
  const load = async (name) => import(pathToFileURL(requireFromPrefix.resolve(name)).href);
  Ajv2020 = (await load("ajv/dist/2020.js")).default;
  addFormats = (await load("ajv-formats")).default;
  ajvVersion = requireFromPrefix("ajv/package.json").version;
} catch (e) {
  process.stderr.write(`ajv_validate.mjs: cannot load ajv from ${prefix} `
    + `(npm install --prefix ${prefix} ajv@8 ajv-formats@3): ${e.message}\n`);
  process.exit(2);
}
// The CommonJS builds export the class as module.exports and as .default.
if (Ajv2020.default) Ajv2020 = Ajv2020.default;
if (addFormats.default) addFormats = addFormats.default;

// Default options but strict: false (the schemas use "description" next to
// "$ref" and unknown-to-ajv annotations); allErrors stays false.
const ajv = new Ajv2020({ strict: false });
addFormats(ajv); // formats asserted (validateFormats defaults to true)

for (const name of readdirSync(schemaDir).filter((f) => f.endsWith(".json")).sort()) {
  const schema = JSON.parse(readFileSync(join(schemaDir, name), "utf8"));
  ajv.addSchema(schema, `omniva:///schemas/${name}`);
}

for (const file of files) {
  const schemaName = basename(file).replace(/\.ndjson$/, "");
  const validate = ajv.getSchema(`omniva:///schemas/${schemaName}.json`);
  if (!validate) {
    process.stderr.write(`ajv_validate.mjs: no schema ${schemaName}.json in ${schemaDir}\n`);
    process.exit(2);
  }
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n").filter((l) => l.trim() !== "");

  const pass = () => {
    let valid = 0, invalid = 0, notJson = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < lines.length; ++i) {
      let doc;
      try {
        doc = JSON.parse(lines[i]);
      } catch {
        ++notJson;
        continue;
      }
      if (validate(doc)) ++valid;
      else ++invalid;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { valid, invalid, notJson, seconds };
  };

  pass(); // warm-up
  let best = null;
  for (let p = 0; p < passes; ++p) {
    const r = pass();
    if (best === null || r.seconds < best.seconds) best = r;
  }
  process.stdout.write(JSON.stringify({
    schema: schemaName,
    documents: lines.length,
    valid: best.valid,
    invalid: best.invalid,
    not_json: best.notJson,
    bytes: Buffer.byteLength(text, "utf8"),
    seconds: best.seconds,
    documents_per_second: best.seconds > 0 ? lines.length / best.seconds : 0,
    passes,
    ajv_version: ajvVersion,
  }) + "\n");
}

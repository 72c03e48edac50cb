// The files of `omniva module init`: texts with the module's name filled
// in, the contract checked before anything is written.

#include "runtime/module_template.hpp"

#include "contracts/json.hpp"
#include "contracts/module_contract.hpp"
#include "runtime/execution_files.hpp"

#include <sys/stat.h>

namespace fs = std::filesystem;

namespace omniva::runtime {

using contracts::ec;

namespace {

/// module.json; @NAME@ is the name as a JSON string, @COMMAND@ run.command.
constexpr std::string_view contract_text = R"({
  "name": @NAME@,
  "version": 1,
  "description": "Counts the words and lines of a text file and fails when it has fewer than min_words words. Made by omniva module init: change it into what your module does.",
  "inputs": [
    {
      "key": "text",
      "label": "A text file",
      "contract_type": "ASSET",
      "required": true,
      "constraints": {"media_types": ["text/plain"]}
    },
    {
      "key": "min_words",
      "label": "The fewest words the text may have",
      "description": "The module fails (exit status 1, the reason on stderr) when the text has fewer words.",
      "contract_type": "VALUE",
      "dtype": "int",
      "default": 1,
      "constraints": {"min": 0, "max": 1000000}
    }
  ],
  "outputs": [
    {
      "key": "report",
      "label": "Words and lines",
      "contract_type": "ASSET",
      "media_type": "application/json",
      "schema": {
        "type": "object",
        "required": ["words", "lines"],
        "properties": {
          "words": {"type": "integer", "minimum": 0},
          "lines": {"type": "integer", "minimum": 0}
        },
        "additionalProperties": false
      }
    }
  ],
  "resources": {"cpu": 1, "memory_gb": 0.25, "gpu": false, "timeout_s": 60},
  "run": {"command": @COMMAND@},
  "schema_version": "1.0.0"
}
)";

constexpr std::string_view python_program = R"PY(#!/usr/bin/env python3
"""@NAME@@1: counts the words and lines of a text file.

The runtime starts it as run.command in module.json says, plus
`--manifest <input_manifest.json>`, in this folder. The input manifest names
every input (an ASSET input as the path of its file, a VALUE input inline as
"value") and the output folder (output_dir). The program writes its outputs
there, then output_manifest.json listing them, and exits 0. To fail, it
writes one line saying why on stderr and exits non-zero: the runtime reports
`exit_code` and quotes the last lines of stderr. The runtime checks every
output against module.json (media type, JSON Schema) before anyone sees it.

Python standard library only.
"""

import argparse
import json
import os
import sys


def count(text):
    """What the module computes: the report (its schema is in module.json)."""
    return {"words": len(text.split()), "lines": text.count("\n")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True, help="input_manifest.json")
    args = parser.parse_args()
    with open(args.manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    inputs = manifest["inputs"]
    # Always there: the contract gives min_words a default.
    min_words = inputs["min_words"]["value"]
    try:
        with open(inputs["text"]["path"], encoding="utf-8", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        print(f"the text is not UTF-8: {e}", file=sys.stderr)
        return 1

    report = count(text)
    if report["words"] < min_words:
        print(f"the text has {report['words']} word(s), fewer than min_words "
              f"({min_words})", file=sys.stderr)
        return 1

    with open(os.path.join(manifest["output_dir"], "report.json"), "w",
              encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    with open(manifest["output_manifest"], "w", encoding="utf-8") as f:
        json.dump({"outputs": {"report": {"path": "report.json",
                                          "media_type": "application/json"}}}, f)
    print(f"{report['words']} word(s), {report['lines']} line(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
)PY";

constexpr std::string_view shell_program = R"SH(#!/bin/sh
# @NAME@@1: counts the words and lines of a text file.
#
# The runtime starts it as run.command in module.json says, plus
# `--manifest <input_manifest.json>`, in this folder. The input manifest
# names every input (an ASSET input as the path of its file, a VALUE input
# inline as "value") and the output folder (output_dir). The program writes
# its outputs there, then output_manifest.json listing them, and exits 0. To
# fail, it writes one line saying why on stderr and exits non-zero: the
# runtime reports `exit_code` and quotes the last lines of stderr. The
# runtime checks every output against module.json (media type, JSON Schema)
# before anyone sees it.
#
# POSIX sh and tools (wc, tr, printf); python3 reads the manifest, since sh
# has no JSON parser.
set -eu

manifest=
while [ "$#" -gt 0 ]; do
  case $1 in
    --manifest) [ "$#" -ge 2 ] || break; manifest=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
if [ -z "$manifest" ]; then
  echo "usage: main.sh --manifest input_manifest.json" >&2
  exit 2
fi

# Prints a member of the input manifest, by its keys: `field inputs text path`.
field() {
  python3 -c 'import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
for key in sys.argv[2:]:
    doc = doc[key]
print(doc if isinstance(doc, str) else json.dumps(doc))' "$manifest" "$@"
}

text=$(field inputs text path)
# Always there: the contract gives min_words a default.
min_words=$(field inputs min_words value)

# What the module computes: the report (its schema is in module.json).
words=$(wc -w < "$text" | tr -d ' ')
lines=$(wc -l < "$text" | tr -d ' ')
if [ "$words" -lt "$min_words" ]; then
  echo "the text has $words word(s), fewer than min_words ($min_words)" >&2
  exit 1
fi

printf '{\n  "words": %s,\n  "lines": %s\n}\n' "$words" "$lines" \
  > "$(field output_dir)/report.json"
printf '{"outputs": {"report": {"path": "report.json", "media_type": "application/json"}}}\n' \
  > "$(field output_manifest)"
echo "$words word(s), $lines line(s)"
)SH";

constexpr std::string_view readme_text = R"MD(# @NAME@

A module for Omniva Engine, made by `omniva module init`: it counts the words
and lines of a text file and fails when the text has fewer than `min_words`
words. Change it into what your module does; `docs/modules.md` ("Write your
first module") walks through it.

| file | what it is |
| --- | --- |
| `module.json` | the contract: the inputs (`text`, a text/plain file; `min_words`, an int from 0 to 1000000, default 1), the output (`report`, JSON with its schema), resources, how to run it |
| `@PROGRAM@` | the program: reads the input manifest (`--manifest`), writes `report.json` and `output_manifest.json`; fails with one line on stderr and exit status 1 |
| `sample/text.txt` | a sample input |

From the folder above this one:

```sh
omniva contract check @NAME@/module.json
omniva module run @NAME@ --input text=@NAME@/sample/text.txt --value min_words=3 --keep run-1
cat run-1/report.json
omniva module run @NAME@ --input text=@NAME@/sample/text.txt --mode mock
```

On a node: `omniva serve --modules @NAME@` registers it as `@NAME@@1`
(`omniva module register @NAME@` registers it with a node that runs
already); then `A=$(omniva asset add @NAME@/sample/text.txt)` and `omniva
task create @NAME@@1 --input text=$A`. A contract is immutable once
registered: change the `version` in `module.json` when you change the
contract.
)MD";

constexpr std::string_view sample_text
  = "Hello from @NAME@.\nThis sample has a few words on two lines.\n";

/// `text` with every "@KEY@" of `fills` replaced.
std::string filled(std::string_view text,
                   std::initializer_list<std::pair<std::string_view, std::string>> fills) {
  std::string out{text};
  for (auto& [key, value] : fills) {
    auto marker = "@" + std::string{key} + "@";
    for (auto at = out.find(marker); at != std::string::npos;
         at = out.find(marker, at + value.size()))
      out.replace(at, marker.size(), value);
  }
  return out;
}

/// Whether `dir` is a folder with nothing in it.
bool is_empty_folder(const fs::path& dir, std::error_code& err) {
  return fs::is_directory(dir, err) && fs::is_empty(dir, err) && !err;
}

} // namespace

std::string_view to_string(module_language x) noexcept {
  switch (x) {
    case module_language::python:
      return "python";
    case module_language::shell:
      return "shell";
  }
  return "unknown";
}

std::optional<module_language>
module_language_from_string(std::string_view name) noexcept {
  if (name == "python")
    return module_language::python;
  if (name == "shell")
    return module_language::shell;
  return std::nullopt;
}

module_template make_module_template(std::string_view name,
                                     module_language language) {
  module_template t;
  std::string n{name};
  bool python = language == module_language::python;
  auto program = std::string{python ? "main.py" : "main.sh"};
  json::value command{json::array{json::value{python ? "python3" : "sh"},
                                  json::value{program}}};
  auto contract = filled(contract_text, {{"NAME", json::serialize(json::value{n})},
                                         {"COMMAND", json::serialize(command)}});
  auto checked = contracts::parse_module_contract(contract);
  if (!checked) {
    t.problems = std::move(checked.problems);
    return t;
  }
  t.ref = checked.contract->ref();
  t.files.push_back({"module.json", std::move(contract)});
  t.files.push_back(
    {program, filled(python ? python_program : shell_program, {{"NAME", n}})});
  t.files.push_back({"README.md", filled(readme_text, {{"NAME", n}, {"PROGRAM", program}})});
  t.files.push_back({"sample/text.txt", filled(sample_text, {{"NAME", n}})});
  return t;
}

std::optional<contracts::problem>
write_module_template(const module_template& t, const fs::path& dir) {
  std::error_code err;
  if (fs::exists(dir, err)) {
    if (!fs::is_directory(dir, err))
      return contracts::problem{ec::invalid_argument, "",
                                "'" + dir.string() + "' is a file, not a folder"};
    if (!is_empty_folder(dir, err))
      return contracts::problem{
        ec::invalid_argument, "",
        "'" + dir.string()
          + "' is not empty: module init writes only into a new or empty "
            "folder, so that it never overwrites anything"};
  }
  for (auto& f : t.files) {
    auto path = dir / f.path;
    fs::create_directories(path.parent_path(), err);
    if (err)
      return contracts::problem{ec::io_error, "",
                                "cannot create the folder '"
                                  + path.parent_path().string()
                                  + "': " + err.message()};
    if (!write_file(path.string(), f.content))
      return contracts::problem{ec::io_error, "",
                                "cannot write '" + path.string() + "'"};
    // The programs are executable, for running them by hand.
    if (f.path.starts_with("main."))
      ::chmod(path.c_str(), 0755);
  }
  return std::nullopt;
}

} // namespace omniva::runtime

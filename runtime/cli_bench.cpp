// `omniva bench ...`: the node measuring itself as users run it. Each verb
// prints its figures on stdout (one JSON document with --json) and its
// progress on stderr; nothing here is a test and nothing asserts on time.
//
// The storage benchmark (Stardust's committer against raw RocksDB, lineage
// queries, verify) is a program of its own, benchmarks/commit_bench: it
// writes RocksDB past the committer, which no binary that runs a node
// carries.

#include "runtime/cli.hpp"

namespace omniva::cli {

// `omniva bench tasks` (cli_bench_tasks.cpp).
int run_bench_tasks(const arguments& args);
// `omniva bench explain` (cli_bench_explain.cpp).
int run_bench_explain(const arguments& args);
// `omniva bench pipeline` (cli_bench_pipeline.cpp).
int run_bench_pipeline(const arguments& args);

int run_bench(const arguments& args) {
  static const std::vector<verb> verbs{
    {"tasks", "tasks through an embedded node: throughput, chains, latency, HTTP",
     run_bench_tasks},
    {"explain", "HaloLux's explanation latency on a large log, over HTTP and without",
     run_bench_explain},
    {"pipeline", "a pipeline run fanning out to many mock tasks, against independent tasks",
     run_bench_pipeline},
  };
  return dispatch("bench",
                  "Benchmarks of a node (figures on stdout, one JSON document "
                  "with --json). The storage benchmark is the program "
                  "benchmarks/commit_bench (build/benchmarks/commit_bench).",
                  verbs, args);
}

} // namespace omniva::cli

#include "runtime/cli.hpp"

int main(int argc, char** argv) {
  return omniva::cli::main(argc, argv);
}

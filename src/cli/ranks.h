// `--ranks N` of `train` and `classifier train`: the same command, started N times by the
// mpirun this build found, on this machine (a convenience for `mpirun -np N yolo9k ...`).
#pragma once

#include <CLI/CLI.hpp>

namespace yolo9k::cli {

void add_ranks_option(CLI::App& sub, int& ranks);

// Replaces this process with mpirun running this command line without --ranks. Returns an
// exit code only when that cannot start (no MPI in this build, or exec failed).
int launch_ranks(int ranks);

}  // namespace yolo9k::cli

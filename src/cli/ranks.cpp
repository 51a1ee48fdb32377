#include "cli/ranks.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "yolo9k/distributed.h"

namespace yolo9k::cli {
namespace {

// This process's arguments as the kernel has them (main's argv is not passed down here).
std::vector<std::string> own_arguments() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> args;
    for (size_t at = 0; at < all.size();) {
        const size_t end = all.find('\0', at);
        args.push_back(all.substr(at, end - at));
        at = end == std::string::npos ? all.size() : end + 1;
    }
    return args;
}

}  // namespace

void add_ranks_option(CLI::App& sub, int& ranks) {
    sub.add_option("--ranks", ranks,
                   "train data-parallel on N processes of this machine (runs mpirun -np N; on a cluster, "
                   "run mpirun yourself)")
        ->check(CLI::Range(1, 1024));
}

int launch_ranks(int ranks) {
    const std::string mpirun = mpi_launcher_path();
    if (!built_with_mpi() || mpirun.empty()) {
        std::cerr << "yolo9k: error: --ranks needs MPI, and this yolo9k was built without it: install libopenmpi-dev "
                     "and openmpi-bin (scripts/setup.sh does) and build again\n";
        return kExitFailure;
    }
    if (started_by_mpi_launcher()) {
        std::cerr << "yolo9k: error: --ranks starts mpirun itself: under mpirun, leave it out\n";
        return kExitUsage;
    }
    std::vector<std::string> args{mpirun, "-np", std::to_string(ranks)};
    // Open MPI refuses root without this; CI and containers run as root.
    if (geteuid() == 0) args.push_back("--allow-run-as-root");
    // One machine: more ranks than cores is the user's choice; the ranks share it unbound
    // (each takes cores / ranks compute threads); shared memory between them, TCP only on lo.
    for (const char* a : {"--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader,tcp", "--mca",
                          "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"})
        args.emplace_back(a);
    const std::vector<std::string> own = own_arguments();
    // This executable by its real path (mpirun starts it from its own daemon).
    char self[4096];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    args.push_back(n > 0 ? std::string(self, size_t(n)) : own.at(0));
    for (size_t i = 1; i < own.size(); ++i) {
        if (own[i] == "--ranks") {
            ++i;  // and its value
            continue;
        }
        if (own[i].rfind("--ranks=", 0) == 0) continue;
        args.push_back(own[i]);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::cout.flush();
    execv(mpirun.c_str(), argv.data());
    std::cerr << "yolo9k: error: cannot run " << mpirun << ": " << std::strerror(errno) << "\n";
    return kExitFailure;
}

}  // namespace yolo9k::cli

// Helpers shared by the test binaries.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "network/network.h"

namespace yolo9k::test {

// Darknet's reference files (cfgs, names, sample images) from Debian's `darknet` package.
std::string darknet_cfg(const std::string& name);   // e.g. "yolov2-voc.cfg"
std::string darknet_data(const std::string& name);  // e.g. "dog.jpg"

// The shared real data (BCCD, raccoon, VOC annotations): $YOLO9K_DATA or ../shared/data
// beside the source tree. Empty when missing; tests call require_shared_data().
std::string shared_data_dir();
// Skips the test when the data is missing, but fails it under CI=true.
#define YOLO9K_REQUIRE_SHARED_DATA()                                                             \
    do {                                                                                         \
        if (::yolo9k::test::shared_data_dir().empty()) {                                         \
            if (::yolo9k::test::running_in_ci()) FAIL() << "shared data missing under CI=true"; \
            GTEST_SKIP() << "shared data not found (set YOLO9K_DATA)";                          \
        }                                                                                        \
    } while (0)
bool running_in_ci();

// A network from the sections after [net] (`body`), with the given input shape.
Network net_from(const std::string& body, int w, int h, int c);

// Random but well-scaled parameters (He-scaled weights, batch-norm statistics near
// identity) so deep networks keep activations in a sensible range.
void randomize_weights(Network& net, uint32_t seed);
std::vector<float> random_vector(size_t n, uint32_t seed, float lo = -1, float hi = 1);

// A 9-node WordTree file (groups of 2, 3, 2, 2), written once for the binary's lifetime.
std::string small_tree_path();

// A fresh, empty directory removed when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

// True in the AddressSanitizer build (scripts/sanitize.sh): its shadow memory and slower code
// make memory and time figures meaningless, so tests of those bounds skip there.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Runs the yolo9k CLI; returns the exit code, with stdout and stderr captured. With
// timeout_s > 0 the tool is killed by SIGALRM after that long (a hang fails, not blocks).
struct CliResult {
    int exit_code = -1;  // -1 when killed by a signal
    int signal = 0;      // the signal that killed it (SIGSEGV, SIGABRT, SIGALRM for a timeout ...)
    std::string out, err;
    long peak_rss_kib = 0;  // the tool's peak resident set (ru_maxrss; at least the caller's size at fork)
};
CliResult run_cli(const std::string& args, unsigned timeout_s = 0);
// The same for any shell command line (e.g. mpirun ... yolo9k ...).
CliResult run_command(const std::string& command_line, unsigned timeout_s = 0);

// The memory tests' run: yolov2-voc at 416 with fresh weights written into `dir`, then
// `yolo9k detect --threads 2 -q <extra_args> dog.jpg`. Returns the run (peak RSS included)
// and the weights file's size, the bound's unit.
struct VocDetectRun {
    CliResult result;
    uintmax_t weights_bytes = 0;
};
VocDetectRun detect_yolov2_voc(const TempDir& dir, const std::string& extra_args);

float max_abs(const float* a, size_t n);
float max_abs_diff(const float* a, const float* b, size_t n);

}  // namespace yolo9k::test

// The layering that README's Layout section describes, checked on the sources: layers know
// no backend, a backend knows no other backend, the inference library needs no training
// or tool code, and library code never prints.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace yolo9k {
namespace {

namespace fs = std::filesystem;

const fs::path kSrc = fs::path(YOLO9K_SOURCE_DIR) / "src";

struct SourceLine {
    std::string file;  // relative to src/
    int line;
    std::string text;
};

// Every line of every .h/.cpp under src/<dir> (recursively).
std::vector<SourceLine> lines_under(const std::string& dir) {
    std::vector<SourceLine> out;
    for (const auto& e : fs::recursive_directory_iterator(kSrc / dir)) {
        const std::string ext = e.path().extension().string();
        if (!e.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
        std::ifstream in(e.path());
        std::string text;
        for (int n = 1; std::getline(in, text); ++n)
            out.push_back({fs::relative(e.path(), kSrc).string(), n, text});
    }
    return out;
}

// Project includes ("dir/file.h") of the files under `dir` whose first folder matches `forbidden`.
std::vector<std::string> includes_matching(const std::string& dir, const std::regex& forbidden) {
    static const std::regex include(R"(^\s*#\s*include\s+"([^"]+)\")");
    std::vector<std::string> found;
    for (const SourceLine& l : lines_under(dir)) {
        std::smatch m;
        if (std::regex_search(l.text, m, include) && std::regex_search(m[1].str(), forbidden))
            found.push_back(l.file + ":" + std::to_string(l.line) + ": " + m[1].str());
    }
    return found;
}

std::string join(const std::vector<std::string>& v) {
    std::ostringstream s;
    for (const auto& x : v) s << "\n  " << x;
    return s.str();
}

TEST(Architecture, LayersIncludeNoBackend) {
    const auto found = includes_matching("layer", std::regex("^backend/"));
    EXPECT_TRUE(found.empty()) << "src/layer/ must not depend on a backend:" << join(found);
}

TEST(Architecture, ABackendIncludesNoOtherBackend) {
    for (const auto& e : fs::directory_iterator(kSrc / "backend")) {
        if (!e.is_directory()) continue;
        const std::string name = e.path().filename().string();
        if (name == "host") continue;  // the shared path every backend may build on
        // backend/<other>/..., except the shared seam (backend/*.h) and backend/host/.
        const std::regex other("^backend/(?!" + name + "/|host/)[^/]+/");
        const auto found = includes_matching("backend/" + name, other);
        EXPECT_TRUE(found.empty()) << "src/backend/" << name << "/ reaches into another backend:" << join(found);
    }
}

TEST(Architecture, TheInferenceLibraryNeedsNoTrainingToolOrVideoCode) {
    const std::regex outside(
        "^(data|train|eval|classify|anchors|perf|weights_cache|video|cli)/|^yolo9k/(video|trainer|evaluator|dataset|anchors)\\.h");
    for (const char* dir : {"core", "parse", "layer", "network", "backend", "detect", "tree", "io"}) {
        const auto found = includes_matching(dir, outside);
        EXPECT_TRUE(found.empty()) << "src/" << dir << "/ is in libyolo9k:" << join(found);
    }
    // src/api/ holds the inference API; src/api/train/ belongs to libyolo9k_train.
    std::vector<std::string> api;
    for (const std::string& f : includes_matching("api", outside))
        if (f.rfind("api/train/", 0) != 0) api.push_back(f);
    EXPECT_TRUE(api.empty()) << "src/api/ (outside api/train/) is in libyolo9k:" << join(api);
}

TEST(Architecture, LibraryCodeNeverPrints) {
    // Output goes through core/log.h's sink; the CLI and the benchmark tools may print.
    const std::regex prints(R"((\bprintf\s*\(|\bputs\s*\(|std::cout|std::cerr|fprintf\s*\(\s*(stdout|stderr)))");
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(kSrc)) {
        const std::string dir = e.path().filename().string();
        if (!e.is_directory() || dir == "cli" || dir == "perf") continue;
        for (const SourceLine& l : lines_under(dir)) {
            const std::string code = l.text.substr(0, l.text.find("//"));  // comments may mention printf
            // The regex only on lines that could match: it is the slow part of the scan.
            const bool candidate = code.find("print") != std::string::npos || code.find("puts") != std::string::npos ||
                                   code.find("std::c") != std::string::npos;
            if (candidate && std::regex_search(code, prints)) found.push_back(l.file + ":" + std::to_string(l.line) + ": " + l.text);
        }
    }
    EXPECT_TRUE(found.empty()) << "library code prints (use log_message):" << join(found);
}

// The CLI is a thin layer over the public API (include/yolo9k/), as the server and the
// Python module will be. Only the tools below reach internal headers: a new internal
// include fails, and so does an entry no longer needed.
TEST(Architecture, TheCommandLineReachesNoNewInternalHeader) {
    const std::map<std::string, std::set<std::string>> still_internal = {
        // The benchmarks (bench, dataset --loader-bench) and the weights cache are tools
        // (yolo9k_tools), not API users.
        {"cli/bench_command.cpp", {"backend/backend.h", "backend/onednn/settings.h", "core/json_read.h",
                                   "core/limits.h", "eval/evaluate.h", "network/initialize.h", "network/network.h",
                                   "perf/baselines.h", "perf/fma_peak.h", "perf/stats.h", "perf/train_bench.h",
                                   "quantize/calibration.h"}},
        {"cli/weights_command.cpp", {"weights_cache/fetch_weights.h"}},
        {"cli/resolve_weights.h", {"weights_cache/published_weights.h"}},
        {"cli/loader_bench.cpp", {"data/dataset.h", "data/loader.h", "perf/stats.h"}},
    };
    std::map<std::string, std::set<std::string>> seen;
    std::vector<std::string> new_ones;
    for (const std::string& f : includes_matching("cli", std::regex("^(?!cli/|yolo9k/)"))) {
        const std::string file = f.substr(0, f.find(':')), header = f.substr(f.rfind(": ") + 2);
        seen[file].insert(header);
        const auto it = still_internal.find(file);
        if (it == still_internal.end() || !it->second.count(header)) new_ones.push_back(f);
    }
    EXPECT_TRUE(new_ones.empty()) << "the CLI should use include/yolo9k/ (add what it needs there):" << join(new_ones);
    std::vector<std::string> stale;
    for (const auto& [file, headers] : still_internal)
        for (const std::string& h : headers)
            if (!seen[file].count(h)) stale.push_back(file + ": " + h);
    EXPECT_TRUE(stale.empty()) << "no longer included: shrink the list" << join(stale);
}

// The Python module and the HTTP server are built on the public API and nothing else (the
// server on its own folder too).
TEST(Architecture, ThePythonModuleAndTheServerUseOnlyThePublicApi) {
    const auto python = includes_matching("python", std::regex("^(?!yolo9k/)"));
    EXPECT_TRUE(python.empty()) << "src/python/ should use include/yolo9k/ only:" << join(python);
    const auto serve = includes_matching("serve", std::regex("^(?!yolo9k/|serve/)"));
    EXPECT_TRUE(serve.empty()) << "src/serve/ should use include/yolo9k/ only:" << join(serve);
}

// The installed headers are all a program gets: they may include each other and system or
// OpenCV headers, never a header from src/.
TEST(Architecture, PublicHeadersIncludeOnlyPublicHeaders) {
    static const std::regex include(R"(^\s*#\s*include\s+"([^"]+)\")");
    std::vector<std::string> found;
    size_t headers = 0;
    for (const auto& e : fs::directory_iterator(fs::path(YOLO9K_SOURCE_DIR) / "include" / "yolo9k")) {
        ++headers;
        std::ifstream in(e.path());
        std::string text;
        for (int n = 1; std::getline(in, text); ++n) {
            std::smatch m;
            if (std::regex_search(text, m, include) && m[1].str().rfind("yolo9k/", 0) != 0)
                found.push_back(e.path().filename().string() + ":" + std::to_string(n) + ": " + m[1].str());
        }
    }
    EXPECT_GE(headers, 10u);
    EXPECT_TRUE(found.empty()) << "an installed header needs an internal one:" << join(found);
}

TEST(Architecture, TheChecksSeeTheSources) {
    // The scans above pass vacuously if they read nothing.
    EXPECT_GT(lines_under("layer").size(), 500u);
    EXPECT_FALSE(includes_matching("backend/onednn", std::regex("^layer/")).empty());
}

}  // namespace
}  // namespace yolo9k

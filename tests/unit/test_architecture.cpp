// The layering that README's Layout section describes, checked on the sources: layers know
// no backend, a backend knows no other backend, the inference library needs no training
// or tool code, and library code never prints.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
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
    const std::regex outside("^(data|train|eval|classify|anchors|perf|weights_cache|video|cli)/");
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

TEST(Architecture, TheChecksSeeTheSources) {
    // The scans above pass vacuously if they read nothing.
    EXPECT_GT(lines_under("layer").size(), 500u);
    EXPECT_FALSE(includes_matching("backend/onednn", std::regex("^layer/")).empty());
}

}  // namespace
}  // namespace yolo9k

#include "perf/onnxruntime_baseline.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_read.h"
#include "yolo9k/files.h"
#include "yolo9k/model.h"
#include "yolo9k/onnx_export.h"

namespace yolo9k::perf {

namespace fs = std::filesystem;

namespace {

constexpr const char* kVersion = "1.31.1";  // the version scripts/onnxruntime.sh installs

// The runner script beside the sources (a benchmark tool, not installed), or $YOLO9K_ONNXRUNTIME_SCRIPT.
std::string runner_script() {
    if (const char* p = std::getenv("YOLO9K_ONNXRUNTIME_SCRIPT"); p && *p) return p;
    return std::string(YOLO9K_SOURCE_DIR) + "/scripts/onnxruntime_run.js";
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Runs a command; its stdout, or Error with its output when it fails.
std::string run_command(const std::string& command) {
    std::FILE* p = popen((command + " 2>&1").c_str(), "r");
    if (!p) throw Error("cannot start: " + command);
    std::string out;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    const int status = pclose(p);
    if (status != 0) throw Error("onnxruntime-node failed: " + out.substr(0, 2000));
    return out;
}

}  // namespace

std::string onnxruntime_node_path() {
    if (const char* p = std::getenv("YOLO9K_ONNXRUNTIME_NODE_PATH"); p && *p) return p;
    const char* cache = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    const fs::path dir = (cache && *cache ? fs::path(cache) : fs::path(home ? home : "/root") / ".cache") / "yolo9k" /
                         ("onnxruntime-node-" + std::string(kVersion)) / "node_modules";
    return fs::exists(dir / "onnxruntime-node" / "package.json") ? dir.string() : std::string();
}

BaselineRun run_onnxruntime_baseline(const std::string& cfg, const std::string& weights,
                                     const BaselineRunOptions& options) {
    BaselineRun run;
    run.name = "onnxruntime";
    const std::string node_path = onnxruntime_node_path();
    if (node_path.empty()) {
        run.why = "onnxruntime-node is not installed (run scripts/onnxruntime.sh)";
        return run;
    }
    char tmpl[] = "/tmp/yolo9k-onnxruntime-XXXXXX";
    if (!mkdtemp(tmpl)) {
        run.why = "cannot create a temporary directory";
        return run;
    }
    const fs::path tmp = tmpl;
    try {
        const double t0 = now_ms();
        if (options.width != options.height) throw Error("onnxruntime baseline: the input must be square");
        Model model(cfg, options.width);
        model.load_weights(weights);
        const std::string onnx = (tmp / "model.onnx").string();
        export_onnx(model, onnx, {.batch = options.batch});
        run.load_ms = now_ms() - t0;
        const std::string dims = std::to_string(options.batch) + "," + std::to_string(model.input_channels()) + "," +
                                 std::to_string(options.height) + "," + std::to_string(options.width);
        const int iterations = std::max(1, options.timing.iterations);
        const std::string out = run_command("NODE_PATH=" + shell_quote(node_path) + " node " + shell_quote(runner_script()) +
                                            " bench " + shell_quote(onnx) + " " + dims + " " + std::to_string(iterations) +
                                            " " + std::to_string(options.threads));
        const nlohmann::json result = parse_json_file_text(out.substr(out.rfind("{\"ms\"")), "onnxruntime-node output");
        run.timing = summarize(result.at("ms").get<std::vector<double>>());
        run.note = "ONNX Runtime " + result.value("version", std::string(kVersion)) + " (npm onnxruntime-node), CPU, " +
                   (options.threads > 0 ? std::to_string(options.threads) : std::string("default")) +
                   " intra-op threads, on yolo9k's ONNX export (batch norm folded, opset 13)";
        run.ran = true;
    } catch (const std::exception& e) {
        run.why = e.what();
    }
    std::error_code ec;
    fs::remove_all(tmp, ec);
    return run;
}

}  // namespace yolo9k::perf

#include "perf/baselines.h"
#include "perf/onnxruntime_baseline.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <type_traits>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "core/error.h"
#include "perf/fma_peak.h"

namespace yolo9k::perf {
namespace {

void require_readable(const std::string& path, const std::string& what) {
    if (!std::ifstream(path, std::ios::binary))
        throw Error(what + ": cannot open '" + path + "'");
}

void require_shape(int batch, int width, int height) {
    if (batch < 1 || width < 1 || height < 1)
        throw Error("baseline: batch, width and height must be >= 1 (got " + std::to_string(batch) +
                    ", " + std::to_string(width) + ", " + std::to_string(height) + ")");
}

// The few [net] keys the baselines need before the engine has parsed the cfg itself.
struct NetSection {
    int batch = 1, subdivisions = 1, width = 0, height = 0, channels = 3;
};

NetSection read_net_section(const std::string& cfg) {
    std::ifstream in(cfg);
    if (!in) throw Error("baseline: cannot open cfg '" + cfg + "'");
    NetSection net;
    std::string line;
    bool in_net = false;
    while (std::getline(in, line)) {
        line.erase(std::remove_if(line.begin(), line.end(),
                                  [](unsigned char ch) { return std::isspace(ch); }),
                   line.end());
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (line[0] == '[') {
            if (in_net) break;  // [net] is over
            in_net = line == "[net]" || line == "[network]";
            continue;
        }
        if (!in_net) continue;
        const auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        const std::string key = line.substr(0, eq);
        const int value = std::atoi(line.c_str() + eq + 1);
        if (key == "batch") net.batch = value;
        else if (key == "subdivisions") net.subdivisions = value;
        else if (key == "width") net.width = value;
        else if (key == "height") net.height = value;
        else if (key == "channels") net.channels = value;
    }
    return net;
}

// ---------------------------------------------------------------------------------------
// OpenCV dnn

class OpenCvDnnBaseline final : public Baseline {
public:
    explicit OpenCvDnnBaseline(int threads) : threads_(threads > 0 ? threads : available_cpus()) {}

    std::string name() const override { return "opencv-dnn"; }

    bool available(std::string* why) const override { return true; }  // linked in

    void load(const std::string& cfg, const std::string& weights, int batch, int width,
              int height) override {
        require_shape(batch, width, height);
        require_readable(cfg, "opencv-dnn cfg");
        require_readable(weights, "opencv-dnn weights");
        loaded_ = false;
        out_.release();
        const NetSection net_section = read_net_section(cfg);
        shape_ = {batch, net_section.channels, height, width};
        cv::setNumThreads(threads_);
        try {
            net_ = cv::dnn::readNetFromDarknet(cfg, weights);
            net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
            net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
            // One pass on zeros: OpenCV builds layers lazily, so an unsupported cfg
            // (e.g. a [region] with a 9000-class tree) only fails here, not in readNet.
            cv::Mat zeros(4, shape_.data(), CV_32F, cv::Scalar(0));
            net_.setInput(zeros);
            net_.forward();
        } catch (const cv::Exception& e) {
            net_ = cv::dnn::Net();
            throw Error("opencv-dnn cannot run '" + cfg + "': " + e.what());
        }
        loaded_ = true;
    }

    void forward(const float* input_nchw) override {
        if (!loaded_) throw Error("opencv-dnn: forward() before load()");
        if (cv::getNumThreads() != threads_) cv::setNumThreads(threads_);
        // Wraps the caller's buffer (no copy); setInput reads it before returning.
        const cv::Mat blob(4, shape_.data(), CV_32F, const_cast<float*>(input_nchw));
        try {
            net_.setInput(blob);
            out_ = net_.forward();
        } catch (const cv::Exception& e) {
            throw Error(std::string("opencv-dnn forward failed: ") + e.what());
        }
        if (!out_.isContinuous()) out_ = out_.clone();
    }

    std::span<const float> output() const override {
        if (out_.empty()) return {};
        return {out_.ptr<float>(), out_.total()};
    }

    std::vector<int> output_shape() const override {
        if (out_.empty()) return {};
        return std::vector<int>(out_.size.p, out_.size.p + out_.dims);
    }

    std::string note() const override {
        return "OpenCV " CV_VERSION " dnn, CPU, " + std::to_string(threads_) + " thread(s), " +
               parallel_framework();
    }

private:
    static std::string parallel_framework() {
        // The line "Parallel framework: TBB (...)" of the build summary.
        std::istringstream info(cv::getBuildInformation());
        for (std::string line; std::getline(info, line);) {
            const auto pos = line.find("Parallel framework:");
            if (pos == std::string::npos) continue;
            std::istringstream value(line.substr(pos + 19));
            std::string name;  // "TBB (ver 2021.8 ...)" -> "TBB"
            value >> name;
            return name;
        }
        return "unknown parallel framework";
    }

    int threads_;
    cv::dnn::Net net_;
    bool loaded_ = false;
    std::vector<int> shape_;
    cv::Mat out_;
};

// ---------------------------------------------------------------------------------------
// darknet via dlopen

// C entry points of libdarknet; network* is treated as opaque. Signatures from darknet.h,
// except network_inputs/network_outputs, which the library exports without declaring.
struct DarknetApi {
    void* (*load_network)(char* cfg, char* weights, int clear) = nullptr;
    void (*set_batch_network)(void* net, int batch) = nullptr;
    int (*resize_network)(void* net, int w, int h) = nullptr;
    float* (*network_predict)(void* net, float* input) = nullptr;
    void (*free_network)(void* net) = nullptr;
    int (*network_inputs)(void* net) = nullptr;   // optional
    int (*network_outputs)(void* net) = nullptr;  // optional
    std::string error;                            // non-empty: unusable, and why
};

// One handle per path for the life of the process: darknet keeps global state and networks
// may outlive a baseline object, so the library is never dlclose'd.
const DarknetApi& darknet_api(const std::string& path) {
    static std::mutex mutex;
    static std::map<std::string, DarknetApi> cache;
    std::lock_guard lock(mutex);
    if (auto it = cache.find(path); it != cache.end()) return it->second;
    DarknetApi api;
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* err = dlerror();
        api.error = "cannot dlopen '" + path + "': " + (err ? err : "unknown error") +
                    " (install Debian's darknet package or set YOLO9K_DARKNET_LIB)";
        return cache.emplace(path, api).first->second;
    }
    auto bind = [&](auto& fn, const char* symbol, bool required) {
        dlerror();
        void* p = dlsym(handle, symbol);
        if (!p && required && api.error.empty())
            api.error = "'" + path + "' has no symbol " + symbol + " (not a darknet library?)";
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
    };
    bind(api.load_network, "load_network", true);
    bind(api.set_batch_network, "set_batch_network", true);
    bind(api.resize_network, "resize_network", true);
    bind(api.network_predict, "network_predict", true);
    bind(api.free_network, "free_network", true);
    bind(api.network_inputs, "network_inputs", false);
    bind(api.network_outputs, "network_outputs", false);
    return cache.emplace(path, api).first->second;
}

// Sends fd 2 into an in-memory file (memfd: nothing touches disk) until finish().
// Process-wide while active, so text other threads print meanwhile is captured too.
class StderrCapture {
public:
    StderrCapture() {
        std::fflush(stderr);
        mem_ = memfd_create("yolo9k-darknet-log", MFD_CLOEXEC);
        if (mem_ < 0) return;
        saved_ = dup(STDERR_FILENO);
        if (saved_ < 0 || dup2(mem_, STDERR_FILENO) < 0) {
            close(mem_);
            if (saved_ >= 0) close(saved_);
            mem_ = saved_ = -1;
        }
    }
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;
    ~StderrCapture() { finish(); }

    std::string finish() {
        if (mem_ < 0) return {};
        std::fflush(stderr);
        dup2(saved_, STDERR_FILENO);
        close(saved_);
        std::string text;
        char buf[4096];
        lseek(mem_, 0, SEEK_SET);
        for (ssize_t n; (n = read(mem_, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
        close(mem_);
        mem_ = saved_ = -1;
        return text;
    }

private:
    int mem_ = -1;
    int saved_ = -1;
};

class DarknetBaseline final : public Baseline {
public:
    explicit DarknetBaseline(DarknetOptions options) : options_(std::move(options)) {
        if (options_.library.empty()) options_.library = default_darknet_library();
    }
    ~DarknetBaseline() override { release(); }

    std::string name() const override { return "darknet"; }

    bool available(std::string* why) const override {
        const DarknetApi& api = darknet_api(options_.library);
        if (!api.error.empty() && why) *why = api.error;
        return api.error.empty();
    }

    void load(const std::string& cfg, const std::string& weights, int batch, int width,
              int height) override {
        require_shape(batch, width, height);
        std::string why;
        if (!available(&why)) throw Error("darknet: " + why);
        // darknet exit()s on a missing file; catch that here with a proper message.
        require_readable(cfg, "darknet cfg");
        require_readable(weights, "darknet weights");
        const NetSection net_section = read_net_section(cfg);
        release();
        const DarknetApi& api = darknet_api(options_.library);
        std::string cfg_c = cfg, weights_c = weights;  // darknet takes char*
        {
            std::optional<StderrCapture> capture;
            if (options_.quiet) capture.emplace();
            net_ = api.load_network(cfg_c.data(), weights_c.data(), 0);
            // Buffers were sized for the cfg's batch/subdivisions and size; set_batch_network
            // alone only relabels them, so anything larger needs resize_network to
            // reallocate every layer at the new batch.
            const int allocated = std::max(1, net_section.batch / std::max(1, net_section.subdivisions));
            if (net_) {
                api.set_batch_network(net_, batch);
                if (batch > allocated || width != net_section.width || height != net_section.height)
                    api.resize_network(net_, width, height);
            }
            if (capture) log_ = capture->finish();
        }
        if (!net_) throw Error("darknet could not load '" + cfg + "':\n" + log_);
        batch_ = batch;
        inputs_ = api.network_inputs ? api.network_inputs(net_) : net_section.channels * width * height;
        if (inputs_ != net_section.channels * width * height) {
            release();
            throw Error("darknet: network expects " + std::to_string(inputs_) +
                        " inputs per image, not " + std::to_string(net_section.channels) + "x" +
                        std::to_string(height) + "x" + std::to_string(width));
        }
        outputs_ = api.network_outputs ? api.network_outputs(net_) : 0;
    }

    void forward(const float* input_nchw) override {
        if (!net_) throw Error("darknet: forward() before load()");
        // network_predict only reads its input (it takes float* for C reasons), no copy needed.
        out_ = darknet_api(options_.library).network_predict(net_, const_cast<float*>(input_nchw));
    }

    std::span<const float> output() const override {
        if (!out_ || outputs_ <= 0) return {};
        return {out_, static_cast<std::size_t>(outputs_) * static_cast<std::size_t>(batch_)};
    }

    std::vector<int> output_shape() const override {
        if (!out_ || outputs_ <= 0) return {};
        return {batch_, outputs_};
    }

    std::string note() const override {
        return options_.library == kDebianDarknetLibrary
                   ? "darknet (Debian), 1 thread: no OpenMP, BLAS or GPU in that build"
                   : "darknet " + options_.library + ", threading as that build was configured";
    }

    const std::string& load_log() const { return log_; }

private:
    void release() {
        if (net_) darknet_api(options_.library).free_network(net_);
        net_ = nullptr;
        out_ = nullptr;
    }

    DarknetOptions options_;
    void* net_ = nullptr;
    float* out_ = nullptr;
    int batch_ = 0;
    int inputs_ = 0;
    int outputs_ = 0;
    std::string log_;
};

}  // namespace

std::unique_ptr<Baseline> make_opencv_dnn_baseline(int threads) {
    return std::make_unique<OpenCvDnnBaseline>(threads);
}

std::string default_darknet_library() {
    const char* env = std::getenv("YOLO9K_DARKNET_LIB");
    return env && *env ? env : kDebianDarknetLibrary;
}

std::unique_ptr<Baseline> make_darknet_baseline(const DarknetOptions& options) {
    return std::make_unique<DarknetBaseline>(options);
}

std::string darknet_load_log(const Baseline& baseline) {
    const auto* darknet = dynamic_cast<const DarknetBaseline*>(&baseline);
    return darknet ? darknet->load_log() : std::string();
}

std::vector<float> synthetic_input(int batch, int channels, int width, int height, unsigned seed) {
    if (batch < 1 || channels < 1 || width < 1 || height < 1)
        throw Error("synthetic_input: all dimensions must be >= 1");
    std::vector<float> data(static_cast<std::size_t>(batch) * channels * width * height);
    // splitmix64: a fixed generator, so the bytes do not depend on the standard library.
    std::uint64_t state = seed;
    for (float& v : data) {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        v = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);  // 24 bits -> [0, 1)
    }
    return data;
}

std::vector<BaselineRun> run_baselines(const std::string& cfg, const std::string& weights,
                                       const BaselineRunOptions& options) {
    std::vector<BaselineRun> runs;
    std::vector<float> input;
    std::string input_error;
    try {
        require_shape(options.batch, options.width, options.height);
        const int channels = read_net_section(cfg).channels;
        input = synthetic_input(options.batch, channels, options.width, options.height);
    } catch (const std::exception& e) {
        input_error = e.what();
    }
    for (const std::string& engine : options.engines) {
        BaselineRun run;
        run.name = engine;
        if (!input_error.empty()) {
            run.why = input_error;
            runs.push_back(std::move(run));
            continue;
        }
        if (engine == "onnxruntime") {  // out of process: its own export and timing loop
            runs.push_back(run_onnxruntime_baseline(cfg, weights, options));
            continue;
        }
        std::unique_ptr<Baseline> baseline;
        if (engine == "opencv-dnn") baseline = make_opencv_dnn_baseline(options.threads);
        else if (engine == "darknet") baseline = make_darknet_baseline(options.darknet);
        else {
            run.why = "unknown engine '" + engine + "' (expected opencv-dnn, darknet or onnxruntime)";
            runs.push_back(std::move(run));
            continue;
        }
        run.note = baseline->note();
        if (!baseline->available(&run.why)) {
            runs.push_back(std::move(run));
            continue;
        }
        try {
            const double t0 = now_ms();
            baseline->load(cfg, weights, options.batch, options.width, options.height);
            run.load_ms = now_ms() - t0;
            run.timing = measure([&] { baseline->forward(input.data()); }, options.timing);
            run.output_shape = baseline->output_shape();
            run.ran = true;
        } catch (const std::exception& e) {
            run.why = e.what();
        }
        runs.push_back(std::move(run));
    }
    return runs;
}

}  // namespace yolo9k::perf

#include "support/test_support.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "layer/convolutional.h"

namespace yolo9k::test {

std::string darknet_cfg(const std::string& name) { return "/usr/share/darknet/cfg/" + name; }
std::string darknet_data(const std::string& name) { return "/usr/share/darknet/data/" + name; }

bool running_in_ci() {
    const char* ci = std::getenv("CI");
    return ci && std::string(ci) == "true";
}

std::string shared_data_dir() {
    namespace fs = std::filesystem;
    if (const char* env = std::getenv("YOLO9K_DATA"); env && *env) return fs::is_directory(env) ? env : "";
    const fs::path guess = fs::path(YOLO9K_SOURCE_DIR) / ".." / "shared" / "data";
    return fs::is_directory(guess) ? fs::canonical(guess).string() : "";
}

std::vector<float> random_vector(size_t n, uint32_t seed, float lo, float hi) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

void randomize_weights(Network& net, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (int i = 0; i < net.size(); ++i) {
        auto* conv = dynamic_cast<ConvolutionalLayer*>(&net.layer(i));
        if (!conv) continue;
        const int fan_in = conv->input_shape().c * conv->size * conv->size;
        const float scale = std::sqrt(6.f / fan_in);  // uniform He: variance 2/fan_in
        for (auto& w : conv->weights) w = u(rng) * scale;
        for (auto& b : conv->biases) b = 0.1f * u(rng);
        if (conv->batch_normalize) {
            for (auto& s : conv->scales) s = 1.f + 0.2f * u(rng);
            for (auto& m : conv->rolling_mean) m = 0.1f * u(rng);
            for (auto& v : conv->rolling_variance) v = 1.f + 0.5f * u(rng);
        }
    }
}

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "yolo9k-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& content) {
    std::ofstream f(path, std::ios::binary);
    f << content;
}

std::string small_tree_path() {
    static TempDir dir;
    static const std::string path = [] {
        const std::string p = dir.file("small.tree");
        write_file(p, "animal -1\nplant -1\ndog 0\ncat 0\nbird 0\ntree 1\ngrass 1\nterrier 2\nhound 2\n");
        return p;
    }();
    return path;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

Network net_from(const std::string& body, int w, int h, int c) {
    const std::string text = "[net]\nwidth=" + std::to_string(w) + "\nheight=" + std::to_string(h) +
                             "\nchannels=" + std::to_string(c) + "\n" + body;
    return Network::from_cfg(parse_cfg_text(text, "case.cfg"));
}

CliResult run_cli(const std::string& args, unsigned timeout_s) {
    return run_command(std::string(YOLO9K_CLI_PATH) + " " + args, timeout_s);
}

CliResult run_command(const std::string& command_line, unsigned timeout_s) {
    TempDir tmp;
    const std::string out = tmp.file("out"), err = tmp.file("err");
    // `exec`: the shell becomes yolo9k, so wait4's peak RSS is the tool's own.
    const std::string cmd = "exec " + command_line + " >" + out + " 2>" + err + " </dev/null";
    CliResult r;
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        if (timeout_s > 0) alarm(timeout_s);  // survives exec: the tool itself gets SIGALRM
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    rusage usage{};
    if (wait4(pid, &status, 0, &usage) != pid) throw std::runtime_error("wait4 failed");
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    r.peak_rss_kib = usage.ru_maxrss;
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
}

VocDetectRun detect_yolov2_voc(const TempDir& dir, const std::string& extra_args) {
    const std::string weights = dir.file("voc.weights");
    {  // freed before the fork: the child's peak RSS starts from this process's size at fork
        Network net = Network::from_cfg_file(darknet_cfg("yolov2-voc.cfg"));
        randomize_weights(net, 4);
        net.save_weights(weights);
    }
    VocDetectRun r;
    r.weights_bytes = std::filesystem::file_size(weights);
    r.result = run_cli("detect --cfg " + darknet_cfg("yolov2-voc.cfg") + " --weights " + weights + " --threads 2 -q " +
                       extra_args + " " + darknet_data("dog.jpg"));
    return r;
}

float max_abs(const float* a, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i]));
    return m;
}

float max_abs_diff(const float* a, const float* b, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

}  // namespace yolo9k::test

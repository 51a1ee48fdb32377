// `yolo9k serve`: the HTTP detection service (include/yolo9k/server.h) until SIGTERM or
// Ctrl-C, which drain the requests in flight and exit 0.
#include <csignal>
#include <cstdint>
#include <iostream>
#include <memory>

#include <pthread.h>

#include "cli/commands.h"
#include "cli/resolve_weights.h"
#include "cli/validators.h"
#include "yolo9k/error.h"
#include "yolo9k/limits.h"
#include "yolo9k/server.h"

namespace yolo9k::cli {

namespace {

// "20MB", "20M", "20MiB", "512K", "40000000": a count with an optional K/M/G (powers of
// 1024 for bytes, of 1000 for pixels) and an optional B/iB.
std::uint64_t parse_amount(const std::string& text, const std::string& option, double unit) {
    size_t used = 0;
    double v = -1;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    std::string suffix = text.substr(used);
    for (const char* tail : {"iB", "B"})
        if (suffix.size() >= std::string(tail).size() && suffix.ends_with(tail)) {
            suffix.resize(suffix.size() - std::string(tail).size());
            break;
        }
    double scale = 1;
    if (suffix == "K" || suffix == "k") scale = unit;
    else if (suffix == "M") scale = unit * unit;
    else if (suffix == "G") scale = unit * unit * unit;
    else if (!suffix.empty()) used = 0;
    if (used == 0 || !(v > 0) || v * scale > 1e15)
        throw Error(option + ": expected an amount such as 20MB or 40M, got '" + text + "'");
    return std::uint64_t(v * scale);
}

}  // namespace

Action add_serve_command(CLI::App& app) {
    struct Opts {
        std::string cfg, weights, names, calibration, host = "127.0.0.1", max_body = "20MB", max_pixels = "40M";
        std::vector<std::string> models;
        int port = 8080, max_batch = 8, batch_wait_ms = 5, workers = 0, threads = 0, size = 0, max_queue = 256;
        float thresh = .5f, nms = .45f, hier = .5f;
        std::string backend = "onednn", precision = "f32";
    };
    auto o = std::make_shared<Opts>();
    CLI::App* sub = app.add_subcommand("serve", "Serve detections over HTTP (POST /v1/detect; see the README)");
    sub->add_option("--cfg", o->cfg, "darknet .cfg of the model; with --weights NAME, default: Debian's darknet cfg for it");
    sub->add_option("--weights", o->weights, "darknet .weights for --cfg, or a name from `yolo9k weights list`");
    sub->add_option("--names", o->names, "class names (one per line)")->check(CLI::ExistingFile);
    sub->add_option("--model", o->models,
                    "NAME=CFG,WEIGHTS[,NAMES[,CALIBRATION]]: serve several models (POST /v1/models/NAME/detect); "
                    "repeatable");
    sub->add_option("--size", o->size, "input width and height (multiple of 32); default: each cfg's")->check(input_side());
    sub->add_option("--host", o->host, "address to listen on")->capture_default_str();
    sub->add_option("--port", o->port, "port; 0 picks a free one (printed)")->capture_default_str()->check(CLI::Range(0, 65535));
    sub->add_option("--max-batch", o->max_batch, "images per forward pass at most (1: no batching)")
        ->capture_default_str()->check(CLI::Range(1, 64));
    sub->add_option("--batch-wait-ms", o->batch_wait_ms, "how long a request waits for others to batch with")
        ->capture_default_str()->check(CLI::Range(0, 10000));
    sub->add_option("--workers", o->workers, "HTTP worker threads; 0: 4 per core, at least 32")
        ->capture_default_str()->check(CLI::Range(0, 1024));
    sub->add_option("--threads", o->threads, "compute threads per forward pass; 0: all cores")
        ->capture_default_str()->check(CLI::NonNegativeNumber);
    sub->add_option("--max-queue", o->max_queue, "requests waiting per model beyond which new ones get 503")
        ->capture_default_str()->check(CLI::Range(1, 100000));
    sub->add_option("--max-body", o->max_body, "largest request body (refused with 413 before it is read)")
        ->capture_default_str();
    sub->add_option("--max-pixels", o->max_pixels, "largest image decoded, in pixels (40M = 40 million)")
        ->capture_default_str();
    sub->add_option("--thresh", o->thresh, "default score threshold (query ?thresh= overrides)")
        ->capture_default_str()->check(CLI::Range(0.f, 1.f));
    sub->add_option("--nms", o->nms, "default NMS IoU threshold (?nms=)")->capture_default_str()->check(CLI::Range(0.f, 1.f));
    sub->add_option("--hier", o->hier, "default YOLO9000 hierarchy threshold (?hier=)")
        ->capture_default_str()->check(CLI::Range(0.f, 1.f));
    sub->add_option("--backend", o->backend, "what computes")->capture_default_str()->check(CLI::IsMember({"onednn", "reference"}));
    add_precision_option(sub, o->precision);
    add_calibration_option(sub, o->calibration)->description("with --precision int8: the calibration file for --weights");
    return [o] {
        ServerOptions options{.host = o->host, .port = o->port, .max_batch = o->max_batch,
                              .batch_wait_ms = o->batch_wait_ms, .workers = o->workers, .threads = o->threads,
                              .max_body_bytes = size_t(parse_amount(o->max_body, "--max-body", 1024)),
                              .max_queue = o->max_queue, .thresh = o->thresh, .nms = o->nms, .hier = o->hier,
                              .backend = o->backend, .precision = o->precision};
        limits().max_image_pixels = parse_amount(o->max_pixels, "--max-pixels", 1000);
        if (!o->weights.empty()) {
            resolve_weights_name(o->weights, o->cfg, &o->names);
            if (o->cfg.empty()) {
                std::cerr << "yolo9k: error: " << missing_cfg_message() << "\n";
                return kExitUsage;
            }
            options.models.push_back({.name = "default", .cfg = o->cfg, .weights = o->weights, .names = o->names,
                                      .size = o->size, .calibration = o->calibration});
        } else if (!o->cfg.empty()) {
            throw Error("--cfg needs --weights");
        } else if (!o->calibration.empty()) {
            throw Error("--calibration is for the --cfg/--weights model; a --model gives its own as NAME=CFG,WEIGHTS,NAMES,CALIBRATION");
        }
        for (const std::string& spec : o->models) {
            const size_t eq = spec.find('=');
            std::vector<std::string> parts;
            if (eq != std::string::npos) {
                std::string rest = spec.substr(eq + 1);
                for (size_t start = 0;;) {
                    const size_t comma = rest.find(',', start);
                    parts.push_back(rest.substr(start, comma - start));
                    if (comma == std::string::npos) break;
                    start = comma + 1;
                }
            }
            if (eq == std::string::npos || eq == 0 || parts.size() < 2 || parts.size() > 4 || parts[0].empty() ||
                parts[1].empty())
                throw Error("--model '" + spec + "': expected NAME=CFG,WEIGHTS[,NAMES[,CALIBRATION]]");
            options.models.push_back({.name = spec.substr(0, eq), .cfg = parts[0], .weights = parts[1],
                                      .names = parts.size() >= 3 ? parts[2] : "", .size = o->size,
                                      .calibration = parts.size() == 4 ? parts[3] : ""});
        }
        if (options.models.empty()) {
            std::cerr << "yolo9k: error: serve needs a model: --cfg F --weights F, or --model NAME=CFG,WEIGHTS\n";
            return kExitUsage;
        }
        // SIGTERM and Ctrl-C are taken by this thread (sigwait) once the server runs: block them
        // before any thread starts, so that every server thread inherits the mask.
        sigset_t stop_signals;
        sigemptyset(&stop_signals);
        sigaddset(&stop_signals, SIGTERM);
        sigaddset(&stop_signals, SIGINT);
        pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
        Server server(options);
        server.start();
        std::cout << "yolo9k serve: listening on http://" << o->host << ":" << server.port() << std::endl;
        server.wait_ready();
        std::cout << "yolo9k serve: ready (" << options.models.size() << " model" << (options.models.size() > 1 ? "s" : "")
                  << ", max batch " << options.max_batch << ", batch wait " << options.batch_wait_ms << " ms)"
                  << std::endl;
        int received = 0;
        sigwait(&stop_signals, &received);
        std::cout << "yolo9k serve: " << (received == SIGINT ? "SIGINT" : "SIGTERM")
                  << ": draining the requests in flight" << std::endl;
        server.stop();
        std::cout << "yolo9k serve: stopped" << std::endl;
        return kExitOk;
    };
}

}  // namespace yolo9k::cli

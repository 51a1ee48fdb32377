// yolo9k command-line tool: a thin layer over the library.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/validators.h"
#include "yolo9k/distributed.h"
#include "yolo9k/error.h"
#include "yolo9k/limits.h"
#include "yolo9k/log.h"

int main(int argc, char** argv) {
    using namespace yolo9k::cli;
    // The library's progress lines go to stdout (flushed, so a pipe sees each step); its
    // notes and warnings to stderr.
    yolo9k::set_log_sink([](yolo9k::LogLevel level, const std::string& message) {
        switch (level) {
            case yolo9k::LogLevel::progress:
                std::fputs((message + "\n").c_str(), stdout);
                std::fflush(stdout);
                break;
            case yolo9k::LogLevel::note: std::cerr << message << "\n"; break;
            case yolo9k::LogLevel::warning: std::cerr << "yolo9k: warning: " << message << "\n"; break;
        }
    });
    CLI::App app{"yolo9k: YOLOv2 / YOLO9000 object detection, darknet-compatible"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "yolo9k 0.1.0");
    std::map<CLI::App*, Action> actions;
    auto add = [&](Action (*adder)(CLI::App&)) {
        const size_t before = app.get_subcommands({}).size();
        Action a = adder(app);
        actions[app.get_subcommands({}).at(before)] = std::move(a);
    };
    add(add_detect_command);
    add(add_info_command);
    add(add_bench_command);
    add(add_init_weights_command);
    add(add_train_command);
    add(add_partial_command);
    add(add_dataset_command);
    add(add_anchors_command);
    add(add_eval_command);
    add(add_classifier_command);
    add(add_weights_command);
    add(add_export_command);
    add(add_serve_command);
    add(add_calibrate_command);
    // Resource limits, accepted by every command (documented in the README's Reliability section).
    yolo9k::Limits& limits = yolo9k::limits();
    // The byte and pixel limits are given in MiB and megapixels; converted after parsing.
    double max_file_mb = double(limits.max_file_bytes) / (1 << 20);
    double max_image_mpx = double(limits.max_image_pixels) / 1e6;
    double max_network_mb = double(limits.max_network_bytes) / (1 << 20);
    std::function<void(CLI::App*)> add_limit_options = [&](CLI::App* sub) {
        const std::string group = "Resource limits";
        sub->add_option("--max-file-mb", max_file_mb, "largest cfg/list/label/JSON/image file read, in MiB")
            ->group(group)->check(finite_range(1, 1e6))->envname("YOLO9K_MAX_FILE_MB")->capture_default_str();
        sub->add_option("--max-image-pixels", max_image_mpx, "largest image decoded, in megapixels (checked from its header)")
            ->group(group)->check(finite_range(0.001, 1e4))->envname("YOLO9K_MAX_IMAGE_MPX")->capture_default_str();
        sub->add_option("--max-network-mb", max_network_mb, "largest network: weights plus one image's activations, in MiB")
            ->group(group)->check(finite_range(1, 1e7))->capture_default_str();
        sub->add_option("--max-classes", limits.max_class_id, "largest class count a label file may imply without a .names")
            ->group(group)->check(CLI::Range(1, 1 << 24))->capture_default_str();
        sub->add_option("--max-threads", limits.max_threads, "largest --threads / --loader-threads accepted")
            ->group(group)->check(CLI::Range(1, 4096))->capture_default_str();
        for (CLI::App* nested : sub->get_subcommands({})) add_limit_options(nested);
    };
    for (CLI::App* sub : app.get_subcommands({})) add_limit_options(sub);
    try {
        app.parse(argc, argv);
        limits.max_file_bytes = static_cast<std::uint64_t>(max_file_mb * (1 << 20));
        limits.max_image_pixels = static_cast<std::uint64_t>(max_image_mpx * 1e6);
        limits.max_network_bytes = static_cast<std::uint64_t>(max_network_mb * (1 << 20));
    } catch (const CLI::ParseError& e) {
        // help/version print and exit 0; every command-line mistake exits 2
        return app.exit(e) == 0 ? kExitOk : kExitUsage;
    }
    try {
        for (auto& [sub, action] : actions)
            if (sub->parsed()) return action();
    } catch (const std::exception& e) {
        std::cerr << "yolo9k: error: " << e.what() << "\n";
        // Under mpirun, the other ranks must not wait for this one: end the job.
        if (yolo9k::started_by_mpi_launcher()) try {
                std::cerr.flush();
                yolo9k::abort_training_job(kExitFailure);
            } catch (const std::exception&) {
            }
        return kExitFailure;
    }
    return kExitUsage;
}

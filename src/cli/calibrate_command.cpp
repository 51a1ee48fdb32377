#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/validators.h"
#include "yolo9k/calibration.h"

namespace yolo9k::cli {

Action add_calibrate_command(CLI::App& app) {
    struct Opts {
        CalibrationOptions calibration;
        std::string out;
        bool quiet = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* sub = app.add_subcommand(
        "calibrate", "Record activation ranges on real images for --precision int8 (writes a calibration file)");
    sub->add_option("--cfg", o->calibration.cfg, "darknet .cfg file")->required()->check(CLI::ExistingFile);
    sub->add_option("--weights", o->calibration.weights, "trained .weights for the cfg")->required()->check(CLI::ExistingFile);
    sub->add_option("--images", o->calibration.images, "images: files, folders or list files (as detect takes them)")
        ->required();
    sub->add_option("--count", o->calibration.count, "images to use, spread evenly over the list")
        ->capture_default_str()
        ->check(CLI::Range(1, 100000));
    sub->add_option("--method", o->calibration.method,
                    "minmax: the extremes seen; percentile: clip each layer at --percentile of its |values| (rare "
                    "outliers cost no resolution)")
        ->capture_default_str()
        ->check(CLI::IsMember({"minmax", "percentile"}));
    sub->add_option("--percentile", o->calibration.percentile, "with --method percentile")
        ->capture_default_str()
        ->check(CLI::Range(50.0, 100.0));
    sub->add_option("--size", o->calibration.size, "input width and height (multiple of 32); default: the cfg's")
        ->check(input_side());
    sub->add_option("--threads", o->calibration.threads, "compute threads (default: all cores)");
    sub->add_option("--out", o->out, "the calibration file to write (e.g. model.calib)")->required();
    sub->add_flag("-q,--quiet", o->quiet, "no progress line");
    return [o] {
        if (!o->quiet)
            o->calibration.on_progress = [](int pass, int passes, int done, int total) {
                std::cerr << "\rcalibrating: pass " << pass << "/" << passes << ", image " << done << "/" << total
                          << std::flush;
                if (pass == passes && done == total) std::cerr << "\n";
            };
        const CalibrationSummary s = calibrate(o->calibration, o->out);
        std::cout << o->out << ": " << s.method << " ranges from " << s.images << " images; widest |value| "
                  << s.widest_range << " (layer " << s.widest_layer << ")\n";
        return kExitOk;
    };
}

}  // namespace yolo9k::cli

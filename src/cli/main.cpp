// yolo9k command-line tool: a thin layer over the library.
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
    using namespace yolo9k::cli;
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
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // help/version print and exit 0; every command-line mistake exits 2
        return app.exit(e) == 0 ? kExitOk : kExitUsage;
    }
    try {
        for (auto& [sub, action] : actions)
            if (sub->parsed()) return action();
    } catch (const yolo9k::Error& e) {
        std::cerr << "yolo9k: error: " << e.what() << "\n";
        return kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << "yolo9k: error: " << e.what() << "\n";
        return kExitFailure;
    }
    return kExitUsage;
}

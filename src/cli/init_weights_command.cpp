#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/training_options.h"
#include "yolo9k/model.h"

namespace yolo9k::cli {

Action add_init_weights_command(CLI::App& app) {
    struct Opts {
        std::string cfg, out;
        uint32_t seed = 1;
        float head_scale = 1;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* sub = app.add_subcommand("init-weights", "Write freshly initialised (untrained) weights for a cfg");
    sub->add_option("--cfg", o->cfg, "darknet .cfg file")->required()->check(CLI::ExistingFile);
    sub->add_option("--out", o->out, "the .weights file to write")->required();
    sub->add_option("--seed", o->seed, "random seed");
    add_head_init_scale_option(*sub, o->head_scale);
    return [o] {
        Model model(o->cfg);
        model.initialize_weights(o->seed, o->head_scale);
        model.save_weights(o->out);
        std::cout << o->out << ": " << model.weights_file_bytes() << " bytes\n";
        return kExitOk;
    };
}

}  // namespace yolo9k::cli

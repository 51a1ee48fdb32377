// `yolo9k export`: a darknet cfg + weights as an ONNX model (see include/yolo9k/onnx_export.h).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/resolve_weights.h"
#include "cli/validators.h"
#include "yolo9k/detector.h"  // read_names_file
#include "yolo9k/error.h"
#include "yolo9k/model.h"
#include "yolo9k/onnx_export.h"

namespace yolo9k::cli {

Action add_export_command(CLI::App& app) {
    struct Opts {
        std::string cfg, weights, names, out, batch = "1", decode = "none";
        int size = 0, opset = 13;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* sub = app.add_subcommand("export", "Write a network and its weights as an ONNX model");
    sub->add_option("--cfg", o->cfg, "darknet .cfg; with --weights NAME, default: Debian's darknet cfg for it");
    sub->add_option("--weights", o->weights, "darknet .weights for the cfg, or a name from `yolo9k weights list`")
        ->required();
    sub->add_option("--out", o->out, "the .onnx file to write")->required();
    sub->add_option("--names", o->names, "class names to store in the model's metadata (one per line)")
        ->check(CLI::ExistingFile);
    sub->add_option("--size", o->size, "input width and height (multiple of 32); default: the cfg's")->check(input_side());
    sub->add_option("--batch", o->batch, "the input's batch: a number, or `dynamic`")->capture_default_str();
    sub->add_option("--opset", o->opset, "ONNX opset")->capture_default_str()->check(CLI::Range(11, 17));
    sub->add_option("--decode", o->decode,
                    "detectors: none (the [region]'s raw input) or boxes (boxes, objectness and class probabilities "
                    "decoded in the graph)")
        ->capture_default_str()
        ->check(CLI::IsMember({"none", "boxes"}));
    return [o] {
        const PublishedWeights* published = resolve_weights_name(o->weights, o->cfg, &o->names);
        if (o->cfg.empty()) {
            std::cerr << "yolo9k: error: " << missing_cfg_message() << "\n";
            return kExitUsage;
        }
        if (published && published->layers > 0)
            throw Error(o->weights + ": holds only the first " + std::to_string(published->layers) +
                        " layers (a partial file for training); export needs a whole network's weights");
        OnnxExportOptions options{.opset = o->opset, .decode = o->decode == "boxes" ? OnnxDecode::boxes : OnnxDecode::none};
        if (o->batch == "dynamic") {
            options.batch = 0;
        } else {
            size_t used = 0;
            int b = 0;
            try {
                b = std::stoi(o->batch, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used != o->batch.size() || b < 1 || b > 1024)
                throw Error("--batch: expected a number from 1 to 1024 or `dynamic`, got '" + o->batch + "'");
            options.batch = b;
        }
        if (!o->names.empty()) options.class_names = read_names_file(o->names);
        Model model(o->cfg, o->size);
        model.load_weights(o->weights);
        const OnnxExportReport r = export_onnx(model, o->out, options);
        std::cout << o->out << ": ONNX opset " << r.opset << ", " << r.nodes << " nodes, " << r.parameters
                  << " parameters (batch norm folded), " << r.bytes << " bytes\n";
        for (const std::string& i : r.inputs) std::cout << "  input  " << i << "\n";
        for (const std::string& out : r.outputs) std::cout << "  output " << out << "\n";
        return kExitOk;
    };
}

}  // namespace yolo9k::cli

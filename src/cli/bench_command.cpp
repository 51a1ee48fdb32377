// `yolo9k bench`: forward speed side by side with OpenCV dnn and libdarknet on the same
// cfg and weights, as median ms/image, GFLOP/s and the fraction of the measured FMA peak.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "backend/backend.h"
#include "backend/onednn/settings.h"
#include "cli/commands.h"
#include "cli/validators.h"
#include "core/json_read.h"
#include "core/limits.h"
#include "eval/evaluate.h"
#include "network/initialize.h"
#include "network/network.h"
#include "quantize/calibration.h"
#include "perf/baselines.h"
#include "perf/fma_peak.h"
#include "perf/stats.h"
#include "perf/train_bench.h"
#include "yolo9k/detector.h"
#include "yolo9k/error.h"
#include "yolo9k/files.h"

namespace yolo9k::cli {
namespace {

struct BenchOptions {
    std::vector<std::string> cfgs;
    std::string weights, image;
    std::vector<int> batches{1, 8};
    std::vector<int> sizes;
    int threads = 0;
    int iterations = 10;
    double darknet_budget_s = 20;
    std::vector<std::string> baselines{"opencv-dnn", "onnxruntime", "darknet"};
    std::string json;
    std::string data_file, dataset, split, names;  // mAP per size (the paper's speed/accuracy table)
    bool train = false;  // training throughput instead of inference
    bool layers = false;  // per-layer times, Winograd vs direct
    std::string calibration;  // int8 rows: the ranges to scale by (else recorded on the timing input)
    std::vector<std::string> precisions{"f32"};  // reduced precisions add rows (yolo9k-bf16)
};

// Median wall time of each layer over `iterations` timed forward passes.
std::vector<double> layer_medians(Executor& ex, const std::vector<float>& input, int iterations) {
    std::vector<std::vector<double>> samples;
    std::vector<double> ms;
    for (int i = 0; i < 2 + iterations; ++i) {
        ex.forward_timed(input.data(), ms);
        if (i < 2) continue;  // warm-up
        samples.resize(ms.size());
        for (size_t l = 0; l < ms.size(); ++l) samples[l].push_back(ms[l]);
    }
    std::vector<double> medians;
    for (auto& s : samples) medians.push_back(perf::percentile(s, 0.5));
    return medians;
}

// Each layer's kernel name from the executor's plan, without the backend's prefix.
std::vector<std::string> layer_impls(const Executor& ex, int layers) {
    std::vector<std::string> impls;
    for (const LayerExecution& l : ex.plan().layers) {
        std::string impl = l.kernel;
        for (const std::string prefix : {"onednn conv ", "onednn "})
            if (impl.rfind(prefix, 0) == 0) impl = impl.substr(prefix.size());
        impls.push_back(impl);
    }
    impls.resize(layers);
    return impls;
}

// `bench --train --layers`: each layer's mean ms per step in each phase, the convolution
// phases' GFLOP/s, and the sums with their share of the step. Returns the rows as JSON.
nlohmann::json print_train_layer_times(const perf::TrainBenchResult& r, double peak_gflops) {
    const auto gf = [](double gflop, double ms) { return ms > 0 ? gflop / (ms * 1e-3) : 0.0; };
    std::printf("\n  per layer, mean ms per step (%s, %d, batch %d); GF/s: the convolution phases' rate\n",
                std::filesystem::path(r.cfg).filename().string().c_str(), r.size, r.batch);
    std::printf("  %5s %-14s", "layer", "type");
    for (size_t p = 0; p < kTrainPhases; ++p) std::printf(" %11s", train_phase_name(TrainPhase(p)));
    std::printf(" %9s %9s %9s %9s\n", "total", "fwd GF/s", "bwdW GF/s", "bwdD GF/s");
    std::array<double, kTrainPhases> sum{};
    double fwd_gflop = 0, bwd_w_gflop = 0, bwd_d_gflop = 0;
    nlohmann::json rows = nlohmann::json::array();
    for (const perf::TrainLayerTime& l : r.layers) {
        std::printf("  %5d %-14s", l.layer, l.type.c_str());
        nlohmann::json phases;
        for (size_t p = 0; p < kTrainPhases; ++p) {
            std::printf(" %11.2f", l.ms[p]);
            sum[p] += l.ms[p];
            phases[train_phase_name(TrainPhase(p))] = l.ms[p];
        }
        std::printf(" %9.2f", l.total_ms());
        const auto& ms = l.ms;
        const double f = gf(l.conv_gflop, ms[size_t(TrainPhase::conv_forward)]);
        const double w = gf(l.conv_gflop, ms[size_t(TrainPhase::backward_weights)]);
        const double d = l.input_gradient ? gf(l.conv_gflop, ms[size_t(TrainPhase::backward_data)]) : 0;
        if (l.conv_gflop > 0 && l.input_gradient)
            std::printf(" %9.1f %9.1f %9.1f\n", f, w, d);
        else if (l.conv_gflop > 0)
            std::printf(" %9.1f %9.1f %9s\n", f, w, "-");  // layer 0: no data gradient
        else
            std::printf("\n");
        if (l.conv_gflop > 0) {
            fwd_gflop += l.conv_gflop;
            bwd_w_gflop += l.conv_gflop;
            if (l.input_gradient) bwd_d_gflop += l.conv_gflop;
        }
        rows.push_back({{"layer", l.layer}, {"type", l.type}, {"ms", phases}, {"conv_gflop", l.conv_gflop}});
    }
    double layers_total = 0;
    for (double v : sum) layers_total += v;
    const double step = layers_total + r.loss_ms + r.update_ms;
    std::printf("  %5s %-14s", "", "sum");
    for (double v : sum) std::printf(" %11.2f", v);
    const auto& ms = sum;
    std::printf(" %9.2f %9.1f %9.1f %9.1f\n", layers_total, gf(fwd_gflop, ms[size_t(TrainPhase::conv_forward)]),
                gf(bwd_w_gflop, ms[size_t(TrainPhase::backward_weights)]), gf(bwd_d_gflop, ms[size_t(TrainPhase::backward_data)]));
    std::printf("  %5s %-14s", "", "% of step");
    for (double v : sum) std::printf(" %10.1f%%", 100 * v / step);
    std::printf("\n  region loss %.2f ms (%.1f%%), SGD + weights into the kernels %.2f ms (%.1f%%); step %.2f ms\n",
                r.loss_ms, 100 * r.loss_ms / step, r.update_ms, 100 * r.update_ms / step, step);
    std::printf("  convolution phases at %% of the %.1f GFLOP/s peak: fwd %.1f%%, bwd weights %.1f%%, bwd data %.1f%%\n",
                peak_gflops, 100 * gf(fwd_gflop, ms[size_t(TrainPhase::conv_forward)]) / peak_gflops,
                100 * gf(bwd_w_gflop, ms[size_t(TrainPhase::backward_weights)]) / peak_gflops,
                100 * gf(bwd_d_gflop, ms[size_t(TrainPhase::backward_data)]) / peak_gflops);
    return rows;
}

// `bench --layers`: each layer's median time, default vs direct convolution, with what runs it.
nlohmann::json print_layer_times(const Network& net, int batch, int threads, const std::vector<float>& input, int iterations) {
    auto fast = make_executor(net, "onednn", {.batch = batch, .threads = threads});
    auto direct = make_executor(net, "onednn", {.batch = batch, .threads = threads, .settings = onednn::settings(onednn::ConvAlgorithm::direct)});
    const auto fast_ms = layer_medians(*fast, input, iterations), direct_ms = layer_medians(*direct, input, iterations);
    const auto fast_impl = layer_impls(*fast, net.size()), direct_impl = layer_impls(*direct, net.size());
    std::printf("  %-3s %-14s %-18s %7s %9s %-36s %9s %-30s\n", "", "layer", "output", "GFLOP", "ms", "default", "ms",
                "--direct-conv");
    double fast_total = 0, direct_total = 0;
    nlohmann::json rows;
    for (int l = 0; l < net.size(); ++l) {
        const Layer& L = net.layer(l);
        const Shape s = L.output_shape();
        const std::string shape = std::to_string(s.w) + "x" + std::to_string(s.h) + "x" + std::to_string(s.c);
        std::printf("  %-3d %-14s %-18s %7.3f %9.2f %-36s %9.2f %-30s\n", l, std::string(L.type()).c_str(), shape.c_str(),
                    L.flops() / 1e9, fast_ms[l] / batch, fast_impl[l].c_str(), direct_ms[l] / batch, direct_impl[l].c_str());
        fast_total += fast_ms[l] / batch;
        direct_total += direct_ms[l] / batch;
        rows.push_back({{"layer", l}, {"type", L.type()}, {"gflop", L.flops() / 1e9}, {"ms_per_image", fast_ms[l] / batch},
                        {"impl", fast_impl[l]}, {"direct_ms_per_image", direct_ms[l] / batch}, {"direct_impl", direct_impl[l]}});
    }
    std::printf("  %-3s %-14s %-18s %7.3f %9.2f %-36s %9.2f  (sums of per-layer medians)\n", "", "total", "",
                net.total_flops() / 1e9, fast_total, "", direct_total);
    return rows;
}

std::string temp_weights_for(const Network& net, const std::string& cfg, const std::filesystem::path& dir) {
    const std::string path = (dir / (std::filesystem::path(cfg).stem().string() + ".random.weights")).string();
    net.save_weights(path);
    return path;
}

// int8 rows: the calibration file's ranges when given, else ranges recorded on the timing
// input itself (the kernels, and so the timing, do not depend on the scales).
std::shared_ptr<const ActivationRanges> int8_ranges(Network& net, const std::string& calibration,
                                                    const std::vector<float>& input, int threads) {
    if (!calibration.empty()) return activation_ranges_for("int8", calibration, net);
    const size_t per_image = net.input_shape().size();
    const Calibration c = calibrate_network(
        net, 1, [&](int, float* dst) { std::copy(input.begin(), input.begin() + long(per_image), dst); },
        CalibrationMethod::minmax, 100, threads);
    return std::make_shared<const ActivationRanges>(c.ranges);
}

// The instruction a peak probe times, as the rows name it.
std::string isa_instruction(const std::string& isa) {
    if (isa == "avx512bf16") return "vdpbf16ps";
    if (isa == "avx512vnni") return "vpdpbusd";
    if (isa == "amx-int8") return "AMX tdpbusd";
    if (isa == "amx-bf16") return "AMX tdpbf16ps";
    return isa;
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

}  // namespace

Action add_bench_command(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    CLI::App* sub = app.add_subcommand(
        "bench", "Forward-pass speed vs OpenCV dnn and darknet (median ms/image, GFLOP/s, % of FMA peak)");
    sub->add_option("--cfg", o->cfgs, "cfg file(s); default: darknet's yolov2-voc.cfg and yolov2-tiny-voc.cfg")
        ->check(CLI::ExistingFile);
    sub->add_option("--weights", o->weights, "weights for a single --cfg; default: random weights (speed does not depend on them)")
        ->check(CLI::ExistingFile);
    sub->add_option("--batch", o->batches, "batch sizes")->delimiter(',')->check(CLI::Range(1, 1024));
    sub->add_option("--sizes", o->sizes, "input sizes, e.g. 288,352,416,480,544; default: the cfg's")
        ->delimiter(',')
        ->check(input_side());
    sub->add_option("--threads", o->threads, "threads for yolo9k and OpenCV dnn (darknet is single-threaded); 0: all cores")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--iterations", o->iterations, "timed runs per measurement (median reported)")
        ->check(CLI::Range(1, 100000));
    sub->add_option("--baselines", o->baselines, "engines to compare: opencv-dnn, darknet, onnxruntime (yolo9k's ONNX export in ONNX Runtime; scripts/onnxruntime.sh installs it), or none")->delimiter(',');
    sub->add_option("--darknet-budget", o->darknet_budget_s, "seconds of darknet timing per case (it is slow)")
        ->check(finite_positive());
    sub->add_option("--image", o->image, "JPEG for the end-to-end detect timing; default: darknet's dog.jpg");
    sub->add_option("--json", o->json, "also write the results as JSON");
    sub->add_option("--data", o->data_file, "also measure mAP@.5 per size on this .data file's valid list")
        ->check(CLI::ExistingFile);
    sub->add_option("--dataset", o->dataset, "also measure mAP@.5 per size on this labelled set (see `yolo9k eval`)");
    sub->add_option("--split", o->split, "split of --dataset (VOC ImageSets/Main) or of --data");
    sub->add_option("--names", o->names, "class names for --dataset")->check(CLI::ExistingFile);
    sub->add_flag("--layers", o->layers,
                  "also time every layer, Winograd (default) vs direct convolution; with --train: every layer's "
                  "forward, batch norm + activation, weight- and data-gradient time");
    sub->add_option("--precision", o->precisions,
                    "arithmetic(s) to time: f32 (always), bf16 (adds a yolo9k-bf16 row, against the measured "
                    "vdpbf16ps peak), int8 (a yolo9k-int8 row against the vpdpbusd peak; scaled by --calibration, "
                    "else by ranges recorded on the timing input, which time the same)")
        ->delimiter(',')
        ->check(CLI::IsMember({"f32", "bf16", "int8"}));
    sub->add_option("--calibration", o->calibration,
                    "int8 rows: the file `yolo9k calibrate` wrote for the one --cfg and its --weights")
        ->check(CLI::ExistingFile);
    sub->add_flag("--train", o->train,
                  "training speed: forward + region loss + backward + SGD step per batch (default batch 8, size 416)");
    return [o] {
        namespace fs = std::filesystem;
        if (o->cfgs.empty()) o->cfgs = {"/usr/share/darknet/cfg/yolov2-voc.cfg", "/usr/share/darknet/cfg/yolov2-tiny-voc.cfg"};
        for (const auto& c : o->cfgs)
            if (!fs::exists(c)) throw Error(c + ": no such cfg file (install Debian's darknet package, or pass --cfg)");
        if (!o->weights.empty() && o->cfgs.size() != 1) throw Error("--weights needs exactly one --cfg");
        if (!o->calibration.empty()) {
            if (std::find(o->precisions.begin(), o->precisions.end(), "int8") == o->precisions.end())
                throw Error(o->calibration + ": --calibration is for --precision int8 rows");
            if (o->weights.empty() || o->cfgs.size() != 1)
                throw Error(o->calibration + ": --calibration needs the one --cfg and --weights it was made for");
        }
        if (o->image.empty()) o->image = "/usr/share/darknet/data/dog.jpg";
        std::vector<std::string> engines;
        for (const auto& b : o->baselines)
            if (b != "none") engines.push_back(b);
        if (o->threads > 0) check_thread_count(o->threads, "--threads");
        const int threads = o->threads > 0 ? o->threads : default_thread_count();

        const bool with_map = !o->data_file.empty() || !o->dataset.empty();
        Dataset eval_set;
        if (with_map) {
            eval_set = eval::load_eval_dataset(o->data_file, o->dataset, o->split, o->names);
            if (o->weights.empty()) std::cout << "note: random weights: expect mAP near 0 (pass --weights)\n";
        }
        struct SpeedAccuracy {
            std::string cfg;
            int size;
            double fps, map50, map50_voc07;
        };
        std::vector<SpeedAccuracy> table;
        nlohmann::json report;
        const perf::FmaPeak peak = perf::measure_fma_peak({.threads = threads});
        std::cout << "machine fp32 FMA peak: " << fmt("%.1f", peak.gflops_total) << " GFLOP/s with " << peak.threads
                  << " threads (" << fmt("%.1f", peak.gflops_per_thread) << " per thread, " << peak.isa << ")\n";
        if (!o->train)
            std::cout << "GFLOP/s counts a direct convolution's FLOPs for every engine; Winograd does fewer\n"
                         "multiplications, so yolo9k's default row can exceed 100% of the peak (yolo9k-direct cannot)\n";
        report["fma_peak"] = {{"isa", peak.isa}, {"threads", peak.threads}, {"gflops_total", peak.gflops_total},
                              {"gflops_per_thread", peak.gflops_per_thread}};
        std::vector<Precision> reduced;  // the precisions beside f32, each with its own peak
        for (const std::string& p : o->precisions)
            if (p != "f32" && std::find(reduced.begin(), reduced.end(), parse_precision(p)) == reduced.end())
                reduced.push_back(parse_precision(p));
        if (o->train && !reduced.empty())
            throw Error("bench --train: only --precision f32 trains yet (bf16 mixed precision is not built)");
        std::map<Precision, double> reduced_peak;
        std::map<Precision, std::string> reduced_isa;
        for (Precision p : reduced) {
            // A CPU without the instructions gets no peak; the backend refuses the row by name.
            const bool bf16 = p == Precision::bf16;
            // AMX where the CPU has it and oneDNN may use it (ONEDNN_MAX_CPU_ISA can forbid it),
            // else the vector ISA: the peak of the instructions the kernels actually run.
            const char* amx = bf16 ? "amx-bf16" : "amx-int8";
            const char* max_isa = std::getenv("ONEDNN_MAX_CPU_ISA");
            const bool amx_allowed = !max_isa || std::string(max_isa).find("AMX") != std::string::npos ||
                                     std::string(max_isa) == "ALL";
            const char* isa = amx_allowed && perf::fma_isa_supported(amx) ? amx : bf16 ? "avx512bf16" : "avx512vnni";
            if (!perf::fma_isa_supported(isa)) {
                reduced_peak[p] = 0;
                continue;
            }
            const perf::FmaPeak measured = perf::measure_fma_peak({.threads = threads, .isa = isa});
            reduced_peak[p] = measured.gflops_total;
            std::cout << "machine " << (bf16 ? "bf16" : "int8") << " dot-product peak: "
                      << fmt("%.1f", measured.gflops_total) << (bf16 ? " GFLOP/s" : " GOP/s") << " with "
                      << measured.threads << " threads (" << isa_instruction(isa) << ", "
                      << fmt("%.1f", measured.gflops_total / peak.gflops_total) << "x the f32 FMA peak)\n";
            reduced_isa[p] = isa_instruction(isa);
            report[bf16 ? "bf16_peak" : "int8_peak"] = {{"isa", measured.isa}, {"threads", measured.threads},
                                                        {"gflops_total", measured.gflops_total},
                                                        {"gflops_per_thread", measured.gflops_per_thread}};
        }

        if (o->train) {
            // Training throughput: conv work counted as 3x the forward FLOPs (2x for layer 0).
            std::vector<int> batches = o->batches == std::vector<int>{1, 8} ? std::vector<int>{8} : o->batches;
            std::vector<int> sizes = o->sizes.empty() ? std::vector<int>{416} : o->sizes;
            std::printf("%-22s %5s %5s %9s %8s %8s %8s %8s %9s %8s %7s\n", "cfg", "size", "batch", "step ms", "fwd ms",
                        "loss ms", "bwd ms", "sgd ms", "images/s", "GFLOP/s", "% peak");
            nlohmann::json rows = nlohmann::json::array();
            for (const auto& cfg : o->cfgs)
                for (int size : sizes)
                    for (int batch : batches) {
                        perf::TrainBenchResult r = perf::bench_training(
                            {.cfg = cfg, .size = size, .batch = batch, .iterations = std::max(3, o->iterations / 2),
                             .threads = threads, .layers = o->layers});
                        const double pct = 100.0 * r.gflops / peak.gflops_total;
                        std::printf("%-22s %5d %5d %9.1f %8.1f %8.1f %8.1f %8.1f %9.2f %8.1f %6.1f%%\n",
                                    fs::path(cfg).filename().string().c_str(), size, batch, r.step_ms, r.forward_ms,
                                    r.loss_ms, r.backward_ms, r.update_ms, r.images_per_s, r.gflops, pct);
                        nlohmann::json row{{"cfg", cfg}, {"size", size}, {"batch", batch}, {"step_ms", r.step_ms},
                                           {"forward_ms", r.forward_ms}, {"loss_ms", r.loss_ms},
                                           {"backward_ms", r.backward_ms}, {"update_ms", r.update_ms},
                                           {"images_per_s", r.images_per_s}, {"conv_gflops", r.gflops},
                                           {"fraction_of_peak", pct / 100}};
                        if (o->layers) row["layers"] = print_train_layer_times(r, peak.gflops_total);
                        std::fflush(stdout);
                        rows.push_back(row);
                    }
            report["training"] = rows;
            if (!o->json.empty()) write_file_atomically(o->json, dump_json(report, 2) + "\n");
            return kExitOk;
        }

        char tmpl[] = "/tmp/yolo9k-bench-XXXXXX";
        if (!mkdtemp(tmpl)) throw Error("cannot create a temporary directory for benchmark weights");
        const fs::path tmp = tmpl;
        struct Cleanup {
            fs::path p;
            ~Cleanup() {
                std::error_code ec;
                fs::remove_all(p, ec);
            }
        } cleanup{tmp};

        for (const auto& cfg : o->cfgs) {
            std::vector<int> sizes = o->sizes;
            if (sizes.empty()) sizes = {Network::from_cfg_file(cfg).input_shape().w};
            for (int size : sizes) {
                Network net = Network::from_cfg_file(cfg, {.width = size, .height = size});
                std::shared_ptr<const ActivationRanges> int8_scales;  // once per network, for every batch
                std::string weights = o->weights;
                if (weights.empty()) {
                    initialize_weights(net, 1);
                    weights = temp_weights_for(net, cfg, tmp);
                } else {
                    net.load_weights(weights);
                }
                const double gflop = net.total_flops() / 1e9;
                const Shape in = net.input_shape();
                double fps = 0;  // yolo9k forward at the first batch size, for the speed/accuracy table
                for (int batch : o->batches) {
                    std::cout << "\n" << fs::path(cfg).filename().string() << " " << in.w << "x" << in.h << " batch " << batch
                              << " (" << fmt("%.2f", gflop) << " GFLOP/image)\n";
                    std::printf("  %-14s %12s %10s %9s %10s\n", "engine", "ms/image", "GFLOP/s", "% peak", "yolo9k is");
                    const auto input = perf::synthetic_input(batch, in.c, in.w, in.h);
                    const auto time_ours = [&](onednn::ConvAlgorithm conv, size_t winograd_memory = onednn::Settings().winograd_memory) {
                        auto ex = make_executor(net, "onednn", {.batch = batch, .threads = threads,
                                                                .settings = onednn::settings(conv, winograd_memory)});
                        return perf::measure([&] { ex->forward(input.data()); }, {.warmup = 2, .iterations = o->iterations})
                                   .median / batch;
                    };
                    const double ours_ms = time_ours(onednn::ConvAlgorithm::fast);
                    const double fastest_ms = time_ours(onednn::ConvAlgorithm::fast, onednn::Settings::kUnlimited);
                    const double direct_ms = time_ours(onednn::ConvAlgorithm::direct);
                    if (o->layers)
                        report["layers"].push_back({{"cfg", cfg}, {"size", in.w}, {"batch", batch},
                                                    {"layers", print_layer_times(net, batch, threads, input, o->iterations)}});
                    if (fps == 0) fps = 1e3 / ours_ms;
                    auto row = [&](const std::string& name, double ms_per_image, const std::string& note,
                                   double peak_gflops = 0) {
                        if (peak_gflops == 0) peak_gflops = peak.gflops_total;
                        const double gflops = gflop / (ms_per_image / 1e3);
                        std::printf("  %-14s %12.2f %10.1f %8.1f%% %10s  %s\n", name.c_str(), ms_per_image, gflops,
                                    100 * gflops / peak_gflops,
                                    name == "yolo9k"                ? ""
                                    : ms_per_image >= ours_ms ? (fmt("%.1fx", ms_per_image / ours_ms) + " faster").c_str()
                                                              : (fmt("%.1fx", ours_ms / ms_per_image) + " slower").c_str(),
                                    note.c_str());
                        return nlohmann::json{{"engine", name}, {"ms_per_image", ms_per_image}, {"gflops", gflops},
                                              {"fraction_of_peak", gflops / peak_gflops}};
                    };
                    nlohmann::json entry = {{"cfg", cfg}, {"size", in.w}, {"batch", batch}, {"gflop_per_image", gflop}};
                    entry["engines"].push_back(row("yolo9k", ours_ms, "onednn, Winograd 3x3 within " + std::to_string(onednn::Settings().winograd_memory >> 20) +
                                                               " MiB of extra weights, " + std::to_string(threads) + " threads"));
                    entry["engines"].push_back(row("yolo9k-fastest", fastest_ms,
                                                   "Winograd with no memory cap (--winograd-memory -1)"));
                    entry["engines"].push_back(row("yolo9k-direct", direct_ms, "onednn, direct conv only (--direct-conv)"));
                    std::vector<std::pair<std::string, double>> reduced_ms;  // for the baselines' notes
                    for (Precision p : reduced) {
                        auto ex = make_executor(net, "onednn",
                                                {.batch = batch, .threads = threads, .precision = p,
                                                 .activation_ranges = p == Precision::int8
                                                                          ? int8_scales ? int8_scales
                                                                                        : (int8_scales = int8_ranges(
                                                                                               net, o->calibration, input, threads))
                                                                          : nullptr});
                        const double ms =
                            perf::measure([&] { ex->forward(input.data()); }, {.warmup = 2, .iterations = o->iterations}).median /
                            batch;
                        reduced_ms.emplace_back(std::string("yolo9k-") + precision_name(p), ms);
                        entry["engines"].push_back(row(std::string("yolo9k-") + precision_name(p), ms,
                                                       std::string("--precision ") + precision_name(p) +
                                                           "; % of the " + reduced_isa[p] + " peak",
                                                       reduced_peak[p]));
                    }
                    for (const auto& engine : engines) {
                        perf::BaselineRunOptions bo{.batch = batch, .width = in.w, .height = in.h, .threads = threads, .engines = {engine}};
                        bo.timing = engine == "darknet"
                                        ? perf::TimingOptions{.warmup = 0, .iterations = o->iterations,
                                                              .budget_ms = o->darknet_budget_s * 1e3, .min_iterations = 1}
                                        : perf::TimingOptions{.warmup = 2, .iterations = o->iterations};
                        for (const auto& r : perf::run_baselines(cfg, weights, bo)) {
                            if (!r.ran) {
                                std::printf("  %-14s %12s  (%s)\n", r.name.c_str(), "-", r.why.c_str());
                                entry["engines"].push_back({{"engine", r.name}, {"skipped", r.why}});
                                continue;
                            }
                            const auto versus = [&](const std::string& name, double ms) {
                                const double r_ms = r.timing.median / batch / ms;
                                return "; " + name + " is " +
                                       (r_ms >= 1 ? fmt("%.1fx", r_ms) + " faster" : fmt("%.1fx", 1 / r_ms) + " slower");
                            };
                            std::string note = r.note + " [" + std::to_string(r.timing.samples_ms.size()) + " runs" +
                                               versus("yolo9k-fastest", fastest_ms);
                            for (const auto& [name, ms] : reduced_ms) note += versus(name, ms);
                            auto j = row(r.name, r.timing.median / batch, note + "]");
                            entry["engines"].push_back(j);
                        }
                    }
                    report["forward"].push_back(entry);
                }

                // End to end on a real JPEG: decode + letterbox + forward + decode/NMS.
                if (fs::exists(o->image)) {
                    Detector det({.cfg = cfg, .weights = weights, .size = in.w, .threads = threads});
                    const auto input = perf::synthetic_input(1, in.c, in.w, in.h);
                    const perf::Summary fwd = perf::measure([&] { det.forward(input.data()); }, {.warmup = 2, .iterations = o->iterations});
                    const perf::Summary e2e = perf::measure(
                        [&] {
                            cv::Mat img = cv::imread(o->image, cv::IMREAD_COLOR);
                            det.detect(img);
                        },
                        {.warmup = 2, .iterations = o->iterations});
                    std::printf("  end-to-end detect on %s: %.2f ms vs forward %.2f ms (x%.3f)\n",
                                fs::path(o->image).filename().c_str(), e2e.median, fwd.median, e2e.median / fwd.median);
                    report["end_to_end"].push_back({{"cfg", cfg}, {"size", in.w}, {"image", o->image},
                                                    {"detect_ms", e2e.median}, {"forward_ms", fwd.median},
                                                    {"ratio", e2e.median / fwd.median}});
                }

                if (with_map) {
                    Detector det({.cfg = cfg, .weights = weights, .size = in.w, .thresh = eval::kEvalThresh,
                                  .nms = eval::kEvalNms, .threads = threads});
                    const eval::EvalResult r = eval::evaluate(det, eval_set);
                    std::printf("  mAP@.5 on %d images: %.1f (VOC07 11-point %.1f)\n", r.images, 100 * r.map_voc,
                                100 * r.map_voc07);
                    if (!r.skipped.empty()) std::printf("  %s\n", eval::describe_skipped(r.skipped).c_str());
                    table.push_back({cfg, in.w, fps, r.map_voc, r.map_voc07});
                    report["accuracy"].push_back({{"cfg", cfg}, {"size", in.w}, {"fps", fps}, {"map50", r.map_voc},
                                                  {"map50_voc07", r.map_voc07}, {"map_coco", r.map_coco}});
                }
            }
        }
        if (!table.empty()) {
            std::printf("\n%-28s %6s %8s %8s %12s\n", "speed / accuracy", "size", "FPS", "mAP@.5", "mAP VOC07");
            for (const auto& t : table)
                std::printf("%-28s %6d %8.1f %8.1f %12.1f\n", fs::path(t.cfg).filename().c_str(), t.size, t.fps,
                            100 * t.map50, 100 * t.map50_voc07);
        }
        if (!o->json.empty()) {
            std::ofstream f(o->json);
            if (!f) throw Error(o->json + ": cannot write");
            f << dump_json(report, 2) << "\n";
        }
        return kExitOk;
    };
}

}  // namespace yolo9k::cli

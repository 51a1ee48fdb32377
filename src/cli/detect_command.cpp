// `yolo9k detect`: images, directories, list files, videos and cameras in; darknet-style
// console lines, annotated images/videos and JSON out.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "cli/commands.h"
#include "cli/resolve_weights.h"
#include "cli/validators.h"
#include "yolo9k/detector.h"
#include "yolo9k/error.h"
#include "yolo9k/files.h"
#include "yolo9k/frame_stream.h"
#include "yolo9k/image.h"
#include "yolo9k/inputs.h"
#include "yolo9k/video.h"

namespace yolo9k::cli {
namespace {

namespace fs = std::filesystem;

struct DetectOptions {
    DetectorOptions detector;
    std::vector<std::string> inputs;
    std::string json, out_dir;
    bool stretch = false, quiet = false;
    long max_frames = 0;
    int stream_port = -1;  // -1: no stream
    std::string stream_host = "127.0.0.1";
    bool stream_wait = false;
};

// Where an annotated copy goes: DIR/<name>, made unique if two inputs share a name.
std::string output_path(const std::string& dir, const fs::path& source, const std::string& ext, std::set<std::string>& used) {
    std::string stem = source.stem().string();
    std::string candidate = (fs::path(dir) / (stem + ext)).string();
    for (int k = 1; used.count(candidate); ++k) candidate = (fs::path(dir) / (stem + "_" + std::to_string(k) + ext)).string();
    used.insert(candidate);
    return candidate;
}

class JsonWriter {
public:
    // A file ending in .jsonl gets one object per line as results arrive (what video and
    // camera streams need); any other name gets one JSON array at the end.
    explicit JsonWriter(const std::string& path) : path_(path) {
        if (path_.empty()) return;
        lines_ = fs::path(path_).extension() == ".jsonl";
        if (lines_ || path_ == "-") {
            file_.open(path_ == "-" ? "/dev/stdout" : path_);
            if (!file_) throw Error(path_ + ": cannot open for writing");
        } else {
            // Written whole at the end (atomically, so a failure never leaves half a file);
            // a folder that is not there is reported now, before the work.
            const fs::path dir = fs::path(path_).parent_path();
            if (!dir.empty() && !fs::is_directory(dir))
                throw Error(path_ + ": cannot write: the folder " + dir.string() + " does not exist");
        }
    }
    void add(const ImageDetections& d) {
        if (path_.empty()) return;
        if (lines_) {
            file_ << to_json_text(d) << "\n";
            file_.flush();
        } else {
            all_.push_back(d);
        }
    }
    void finish() {
        if (path_.empty() || lines_) return;
        const std::string text = to_json_text(all_, 2) + "\n";
        if (path_ == "-") {
            file_ << text;
            if (!file_) throw Error("standard output: write failed");
        } else {
            write_file_atomically(path_, text);
        }
    }

private:
    std::string path_;
    bool lines_ = false;
    std::ofstream file_;
    std::vector<ImageDetections> all_;
};

// One `detect` invocation: its inputs through the detector, each result to the console,
// the JSON writer and (with --out) an annotated copy.
struct DetectRun {
    const DetectOptions& o;
    Detector& detector;
    JsonWriter& json;
    FrameStream* stream;               // with --stream-port
    std::set<std::string> used_names;  // output files already written
    std::int64_t streamed = 0;         // frame number of the next image (images have no own)

    void report(ImageDetections& result, double ms) {
        if (!o.quiet && o.json != "-") {
            std::printf("%s: Predicted in %.3f ms.\n%s", result.file.c_str(), ms, to_console(result.detections).c_str());
            std::fflush(stdout);
        }
        json.add(result);
    }

    // Someone watches the stream: frames are worth drawing for it.
    bool watched() const { return stream && stream->clients() > 0; }

    // With --stream-port: the frame's JSON line, and its annotated image for /mjpeg.
    void publish(const ImageDetections& result, std::int64_t frame, double time_s, const cv::Mat& annotated) {
        if (stream) stream->publish(result, frame, time_s, annotated);
        streamed = frame + 1;
    }

    // Images go through in batches of --batch; an unreadable one is named and counted.
    int images(const std::vector<InputSource>& sources) {
        int failures = 0;
        std::vector<const InputSource*> images;
        for (const auto& s : sources)
            if (s.kind == SourceKind::Image) images.push_back(&s);
        for (size_t start = 0; start < images.size(); start += o.detector.batch) {
            std::vector<cv::Mat> batch;
            std::vector<const InputSource*> names;
            for (size_t i = start; i < std::min(images.size(), start + o.detector.batch); ++i) {
                try {
                    batch.push_back(load_image(images[i]->path));
                    names.push_back(images[i]);
                } catch (const Error& e) {
                    std::cerr << "yolo9k: error: " << e.what() << "\n";
                    ++failures;
                }
            }
            if (batch.empty()) continue;
            const auto t0 = std::chrono::steady_clock::now();
            auto detections = detector.detect_batch(batch);
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / batch.size();
            for (size_t i = 0; i < batch.size(); ++i) {
                ImageDetections result{names[i]->path, batch[i].cols, batch[i].rows, std::move(detections[i])};
                report(result, ms);
                if (!o.out_dir.empty() || watched()) draw_detections(batch[i], result.detections);
                publish(result, streamed, 0, batch[i]);
                if (!o.out_dir.empty()) {
                    const std::string path = output_path(o.out_dir, names[i]->path, ".jpg", used_names);
                    if (!cv::imwrite(path, batch[i])) throw Error(path + ": cannot write annotated image");
                }
            }
        }
        return failures;
    }

    // Videos and cameras, frame by frame (up to --max-frames); with --out, an annotated video.
    int videos(const std::vector<InputSource>& sources) {
        int failures = 0;
        for (const auto& s : sources) {
            if (s.kind == SourceKind::Image) continue;
            try {
                VideoSource video = s.kind == SourceKind::Camera ? VideoSource(s.camera) : VideoSource(s.path);
                std::unique_ptr<VideoSink> sink;
                VideoFrame frame;
                while (video.read(frame)) {
                    const auto t0 = std::chrono::steady_clock::now();
                    ImageDetections result{s.path + "#" + std::to_string(frame.index), frame.image.cols, frame.image.rows,
                                           detector.detect(frame.image)};
                    report(result, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
                    if (!o.out_dir.empty() || watched()) draw_detections(frame.image, result.detections);
                    publish(result, frame.index, frame.time_s, frame.image);
                    if (!o.out_dir.empty()) {
                        if (!sink) {
                            const std::string name = s.kind == SourceKind::Camera ? "camera" + std::to_string(s.camera) : s.path;
                            sink = std::make_unique<VideoSink>(output_path(o.out_dir, name, ".mp4", used_names),
                                                               video.fps() > 0 ? video.fps() : 25.0, frame.image.size());
                        }
                        sink->write(frame.image);
                    }
                    if (o.max_frames > 0 && frame.index + 1 >= o.max_frames) break;
                }
            } catch (const Error& e) {
                std::cerr << "yolo9k: error: " << e.what() << "\n";
                ++failures;
            }
        }
        return failures;
    }
};

}  // namespace

Action add_detect_command(CLI::App& app) {
    auto o = std::make_shared<DetectOptions>();
    CLI::App* sub = app.add_subcommand("detect", "Detect objects in images, directories, list files, videos or cameras");
    sub->add_option("--cfg", o->detector.cfg,
                    "darknet .cfg of a YOLOv2 detector; with --weights NAME, default: Debian's darknet cfg for it");
    sub->add_option("--weights", o->detector.weights,
                    "darknet .weights for the cfg, or a name from `yolo9k weights list` (e.g. yolov2-voc)")
        ->required();
    sub->add_option("--names", o->detector.names,
                    "class names, one per line (e.g. voc.names); with --weights NAME, default: its darknet names; "
                    "YOLO9000: default the .names beside the tree (9k.names)");
    sub->add_option("--thresh", o->detector.thresh, "score threshold (objectness x class probability)")
        ->check(finite_range(0.0, 1.0));
    sub->add_option("--hier", o->detector.hier,
                    "YOLO9000: descend the WordTree while the running probability stays above this (darknet's -hier)")
        ->check(finite_range(0.0, 1.0));
    sub->add_option("--map", o->detector.map,
                    "YOLO9000: score the classes of a map file (e.g. coco9k.map) instead of the top-down tree class; "
                    "'cfg' uses the [region]'s map=");
    sub->add_option("--nms", o->detector.nms, "NMS IoU threshold; 0 disables")->check(finite_range(0.0, 1.0));
    sub->add_option("--size", o->detector.size, "input size (multiple of 32); default: the cfg's")->check(input_side());
    sub->add_flag("--stretch", o->stretch, "resize to the input size without keeping the aspect ratio (default: letterbox)");
    sub->add_option("--batch", o->detector.batch, "images per forward pass")->check(CLI::Range(1, 1024));
    sub->add_option("--threads", o->detector.threads, "CPU threads; 0: all cores")->check(CLI::NonNegativeNumber);
    sub->add_option("--backend", o->detector.backend, "what computes (see `yolo9k info --backends`)")
        ->capture_default_str()
        ->check(backend_name());
    add_precision_option(sub, o->detector.precision);
    add_calibration_option(sub, o->detector.calibration);
    sub->add_flag("--direct-conv", o->detector.direct_conv,
                  "direct convolution on every layer instead of Winograd on the 3x3 layers: ~1.5x slower, closest to "
                  "darknet's arithmetic");
    sub->add_option("--winograd-memory", o->detector.winograd_memory_mib,
                    "MiB of extra memory for pre-transformed Winograd weights (fastest on 13x13 layers); -1: no limit")
        ->capture_default_str()
        ->check(CLI::Range(-1, 1 << 20));
    sub->add_option("--json", o->json, "write detections as JSON (a .jsonl name: one object per line; - for stdout)");
    sub->add_option("--out", o->out_dir, "write annotated images / videos into this directory");
    sub->add_option("--max-frames", o->max_frames, "stop each video or camera after this many frames (0: all)")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--stream-port", o->stream_port,
                    "serve the results live over HTTP on this port while detecting: /stream (one JSON object per "
                    "line and frame), /mjpeg (annotated frames), / (a page showing both); 0 picks a free port")
        ->check(CLI::Range(0, 65535));
    sub->add_option("--stream-host", o->stream_host, "address --stream-port listens on")->capture_default_str();
    sub->add_flag("--stream-wait", o->stream_wait,
                  "with --stream-port: wait for the first client before reading the first frame");
    sub->add_flag("-q,--quiet", o->quiet, "no per-image console lines");
    sub->add_option("inputs", o->inputs, "images, directories, list files (.txt/.list), videos, or cam:N")->required();
    return [o] {
        // --map names its own classes, so a published name's default names would be wrong then.
        resolve_weights_name(o->detector.weights, o->detector.cfg, o->detector.map.empty() ? &o->detector.names : nullptr);
        if (o->detector.cfg.empty()) {
            std::cerr << "yolo9k: error: " << missing_cfg_message() << "\n";
            return kExitUsage;
        }
        o->detector.letterbox = !o->stretch;
        // Check every input before the (slow) network load, so typos fail fast.
        const std::vector<InputSource> sources = expand_inputs(o->inputs);
        if (!o->out_dir.empty()) {
            std::error_code ec;
            fs::create_directories(o->out_dir, ec);
            if (ec) throw Error(o->out_dir + ": cannot create output directory: " + ec.message());
        }
        if (o->stream_wait && o->stream_port < 0) throw Error("--stream-wait needs --stream-port");
        Detector detector(o->detector);
        JsonWriter json(o->json == "-" ? "-" : o->json);
        std::unique_ptr<FrameStream> stream;
        if (o->stream_port >= 0) {
            stream = std::make_unique<FrameStream>(FrameStreamOptions{.host = o->stream_host, .port = o->stream_port});
            stream->start();
            // On stderr, so that --json - keeps stdout pure JSON.
            std::cerr << "yolo9k detect: streaming on http://" << o->stream_host << ":" << stream->port()
                      << " (/stream: JSON lines, /mjpeg: annotated frames)" << std::endl;
            if (o->stream_wait) {
                std::cerr << "yolo9k detect: waiting for a client" << std::endl;
                while (!stream->wait_for_client(std::chrono::seconds(1))) {
                }
            }
        }
        DetectRun run{*o, detector, json, stream.get(), {}};
        int failures = run.images(sources);  // images first, then videos: two statements, in order
        failures += run.videos(sources);
        json.finish();
        if (stream) stream->finish();  // the clients read the last frames, then their replies end
        if (failures) std::cerr << "yolo9k: " << failures << " input(s) failed\n";
        return failures ? kExitFailure : kExitOk;
    };
}

}  // namespace yolo9k::cli

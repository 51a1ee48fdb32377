// One served model: its network loaded once, a Detector per batch size on it, and the queue
// that gathers concurrent requests into forward passes (dynamic batching).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "yolo9k/detector.h"
#include "yolo9k/model.h"
#include "yolo9k/server.h"

namespace yolo9k::serve {

struct BatchingOptions {
    int max_batch = 8;
    std::chrono::milliseconds wait{5};
    int max_queue = 256;
    int threads = 0;
    std::string backend = "onednn";
    std::string precision = "f32";
    float thresh = .5f, nms = .45f, hier = .5f;
    std::function<void(int)> on_batch;  // after each forward pass, with its image count
};

// What a queued image gets back: its [region] output and how it was run.
struct InferenceResult {
    std::vector<float> output;
    int batch_size = 0;   // images in the forward pass it ran in
    double queue_ms = 0;  // from submit() to the start of that pass
    double infer_ms = 0;  // the pass itself
};

class ModelRunner {
public:
    // Loads the cfg and weights and warms every batch size up (slow: run it off the caller's
    // path). `compute` is shared by the runners of one server: one forward pass at a time, as
    // each uses every compute thread.
    ModelRunner(const ServedModel& model, const BatchingOptions& options, std::mutex& compute);
    ~ModelRunner();  // finishes what is queued, then stops

    // Any thread: prepare (letterbox) and decode through the batch-1 Detector, which shares
    // the input and output layout of the others.
    const Detector& detector() const { return *detectors_.begin()->second; }
    // Queues one prepared image. Throws QueueFull beyond max_queue waiting images.
    std::future<InferenceResult> submit(std::shared_ptr<const Detector::PreparedImage> image);
    int queue_depth() const;
    // Batch sizes that have a Detector: the powers of two up to max_batch, and max_batch.
    std::vector<int> batch_sizes() const;

    struct QueueFull {};

private:
    struct Job {
        std::shared_ptr<const Detector::PreparedImage> image;
        std::promise<InferenceResult> done;
        std::chrono::steady_clock::time_point queued;
    };
    void run();
    void run_batch(std::vector<Job>& jobs);

    BatchingOptions options_;
    std::mutex& compute_;
    Model model_;
    std::map<int, std::unique_ptr<Detector>> detectors_;  // by batch size
    mutable std::mutex mutex_;
    std::condition_variable arrived_;
    std::deque<Job> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace yolo9k::serve

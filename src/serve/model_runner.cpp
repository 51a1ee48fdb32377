#include "serve/model_runner.h"

#include <algorithm>

#include "yolo9k/error.h"

namespace yolo9k::serve {

namespace {

double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

ModelRunner::ModelRunner(const ServedModel& served, const BatchingOptions& options, std::mutex& compute)
    : options_(options), compute_(compute), model_(served.cfg, served.size) {
    if (options.max_batch < 1) throw Error("max batch must be at least 1");
    model_.load_weights(served.weights);
    std::vector<int> sizes;
    for (int b = 1; b < options.max_batch; b *= 2) sizes.push_back(b);
    sizes.push_back(options.max_batch);
    // The Detectors never run at once (one pass at a time), so they share one set of
    // activation and scratch buffers, the largest's: built largest first, it is sized once.
    auto memory = std::make_shared<SharedDetectorMemory>();
    for (auto it = sizes.rbegin(); it != sizes.rend(); ++it) {
        const int b = *it;
        DetectorOptions o{.cfg = served.cfg, .weights = served.weights, .names = served.names, .size = served.size,
                          .thresh = options.thresh, .nms = options.nms, .batch = b, .threads = options.threads,
                          .backend = options.backend};
        o.precision = options.precision;
        o.calibration = served.calibration;
        o.hier = options.hier;
        o.shared_memory = memory;
        auto detector = std::make_unique<Detector>(model_, o);
        // Warm-up: oneDNN creates its primitives and scratchpads on the first pass.
        const cv::Mat grey(detector->input_height(), detector->input_width(), CV_8UC3, cv::Scalar::all(127));
        const Detector::PreparedImage prepared = detector->prepare(grey);
        std::lock_guard lock(compute_);
        detector->infer(std::vector<const Detector::PreparedImage*>(size_t(b), &prepared));
        detectors_[b] = std::move(detector);
    }
    thread_ = std::thread([this] { run(); });
}

ModelRunner::~ModelRunner() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    arrived_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::vector<int> ModelRunner::batch_sizes() const {
    std::vector<int> sizes;
    for (const auto& [b, d] : detectors_) sizes.push_back(b);
    return sizes;
}

int ModelRunner::queue_depth() const {
    std::lock_guard lock(mutex_);
    return int(queue_.size());
}

std::future<InferenceResult> ModelRunner::submit(std::shared_ptr<const Detector::PreparedImage> image) {
    Job job{std::move(image), {}, std::chrono::steady_clock::now()};
    std::future<InferenceResult> result = job.done.get_future();
    {
        std::lock_guard lock(mutex_);
        if (int(queue_.size()) >= options_.max_queue) throw QueueFull{};
        queue_.push_back(std::move(job));
    }
    arrived_.notify_one();
    return result;
}

void ModelRunner::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        arrived_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left to do
        // Wait for a full batch, or until the oldest request has waited batch_wait.
        const auto deadline = queue_.front().queued + options_.wait;
        arrived_.wait_until(lock, deadline,
                            [&] { return stopping_ || int(queue_.size()) >= options_.max_batch; });
        // The largest batch size that the queue fills: a pass costs its whole batch.
        const int waiting = std::min<int>(int(queue_.size()), options_.max_batch);
        int take = 1;
        for (const auto& [b, d] : detectors_)
            if (b <= waiting) take = b;
        std::vector<Job> jobs;
        for (int i = 0; i < take; ++i) {
            jobs.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        lock.unlock();
        run_batch(jobs);
        lock.lock();
    }
}

void ModelRunner::run_batch(std::vector<Job>& jobs) {
    std::vector<const Detector::PreparedImage*> images;
    for (const Job& j : jobs) images.push_back(j.image.get());
    try {
        std::vector<std::vector<float>> outputs;
        const auto start = std::chrono::steady_clock::now();
        {
            std::lock_guard lock(compute_);
            outputs = detectors_.at(int(jobs.size()))->infer(images);
        }
        const auto end = std::chrono::steady_clock::now();
        if (options_.on_batch) options_.on_batch(int(jobs.size()));
        for (size_t i = 0; i < jobs.size(); ++i)
            jobs[i].done.set_value({std::move(outputs[i]), int(jobs.size()), ms_between(jobs[i].queued, start),
                                    ms_between(start, end)});
    } catch (...) {
        for (Job& j : jobs) j.done.set_exception(std::current_exception());
    }
}

}  // namespace yolo9k::serve

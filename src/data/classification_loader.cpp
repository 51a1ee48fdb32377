// Workers claim batch indices in order, at most `prefetch` ahead of the consumer; finished
// batches wait in a map until their turn (the scheme of DetectionLoader).
#include "data/classification_loader.h"

#include <condition_variable>
#include <exception>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "io/image_reader.h"

namespace yolo9k {
namespace {
constexpr int kMaxDrawsPerSlot = 50;
constexpr std::size_t kWarningsShown = 10;
}  // namespace

struct ClassificationLoader::State {
    ClassificationDataset dataset;
    ClassificationLoaderOptions options;

    std::mutex mutex;
    std::condition_variable work_cv, ready_cv;
    std::int64_t next_claim = 0, next_consume = 0;
    std::map<std::int64_t, ClassificationBatch> ready;
    std::exception_ptr error;
    bool stopping = false;
    std::vector<std::thread> workers;

    mutable std::mutex failure_mutex;
    std::set<std::size_t> failed;
    std::vector<std::string> warnings;

    bool known_bad(std::size_t i) const {
        std::lock_guard lock(failure_mutex);
        return failed.count(i) != 0;
    }

    void record_failure(std::size_t i, const std::string& why) {
        std::lock_guard lock(failure_mutex);
        if (!failed.insert(i).second) return;
        if (warnings.size() < kWarningsShown) {
            std::string message = why + " (replaced by another image)";
            if (!options.quiet) std::cerr << "yolo9k: warning: " << message << "\n";
            warnings.push_back(std::move(message));
        }
        if (failed.size() > options.max_failed_images)
            throw Error(std::to_string(failed.size()) + " images could not be read (more than " +
                        std::to_string(options.max_failed_images) + " allowed); first: " + warnings.front());
    }

    ClassificationBatch make_batch(std::int64_t index) {
        ClassificationBatch b;
        b.index = index;
        b.size = options.size;
        const size_t per_image = size_t(3) * options.size * options.size;
        b.images.resize(per_image * options.batch);
        for (int slot = 0; slot < options.batch; ++slot) {
            AugmentRng rng(options.seed, std::uint64_t(index), std::uint64_t(slot));
            bool done = false;
            for (int attempt = 0; attempt < kMaxDrawsPerSlot && !done; ++attempt) {
                const std::size_t i = rng.below(dataset.images.size());
                if (known_bad(i)) continue;
                const ClassifiedImage& item = dataset.images[i];
                try {
                    const cv::Mat image = load_image(item.path);
                    augment_classification(image, options.size, options.augment, rng, b.images.data() + per_image * slot);
                } catch (const Error& e) {
                    record_failure(i, e.what());
                    continue;
                }
                b.labels.push_back(item.label);
                b.paths.push_back(item.path);
                done = true;
            }
            if (!done) {
                std::lock_guard lock(failure_mutex);
                throw Error("no readable image in " + std::to_string(kMaxDrawsPerSlot) + " random draws (" +
                            std::to_string(failed.size()) + " of " + std::to_string(dataset.images.size()) +
                            " images failed so far)");
            }
        }
        return b;
    }

    void work() {
        for (;;) {
            std::int64_t index;
            {
                std::unique_lock lock(mutex);
                work_cv.wait(lock, [&] { return stopping || next_claim < next_consume + options.prefetch; });
                if (stopping) return;
                index = next_claim++;
            }
            try {
                ClassificationBatch b = make_batch(index);
                std::lock_guard lock(mutex);
                ready.emplace(index, std::move(b));
            } catch (...) {
                std::lock_guard lock(mutex);
                if (!error) error = std::current_exception();
                stopping = true;
            }
            ready_cv.notify_all();
            work_cv.notify_all();
        }
    }
};

ClassificationLoader::ClassificationLoader(ClassificationDataset dataset, ClassificationLoaderOptions options)
    : state_(std::make_unique<State>()) {
    if (dataset.images.empty()) throw Error("classification loader: the dataset has no images");
    if (options.batch <= 0 || options.size <= 0 || options.threads < 0)
        throw Error("classification loader: batch and size must be positive");
    options.prefetch = std::max(options.prefetch, std::max(1, options.threads));
    state_->dataset = std::move(dataset);
    state_->options = options;
    state_->next_claim = state_->next_consume = options.first_batch;
    for (int t = 0; t < options.threads; ++t) state_->workers.emplace_back([s = state_.get()] { s->work(); });
}

ClassificationLoader::~ClassificationLoader() {
    {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
    }
    state_->work_cv.notify_all();
    for (auto& t : state_->workers) t.join();
}

ClassificationBatch ClassificationLoader::next() {
    State& s = *state_;
    if (s.workers.empty()) return s.make_batch(s.next_consume++);
    std::unique_lock lock(s.mutex);
    s.ready_cv.wait(lock, [&] { return s.ready.count(s.next_consume) || s.error; });
    if (!s.ready.count(s.next_consume)) std::rethrow_exception(s.error);
    ClassificationBatch b = std::move(s.ready.at(s.next_consume));
    s.ready.erase(s.next_consume++);
    lock.unlock();
    s.work_cv.notify_all();
    return b;
}

ClassificationBatch ClassificationLoader::make_batch(std::int64_t index) const { return state_->make_batch(index); }

std::size_t ClassificationLoader::failed_images() const {
    std::lock_guard lock(state_->failure_mutex);
    return state_->failed.size();
}

std::vector<std::string> ClassificationLoader::warnings() const {
    std::lock_guard lock(state_->failure_mutex);
    return state_->warnings;
}

}  // namespace yolo9k

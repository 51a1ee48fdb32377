// Workers claim batch indices in order, at most `prefetch` ahead of the consumer, and
// build whole batches; finished batches wait in a map until their turn.
#include "data/loader.h"

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

struct DetectionLoader::State {
    Dataset dataset;
    Dataset class_only;  // classification-only images, drawn with options.class_share
    LoaderOptions options;

    std::mutex mutex;
    std::condition_variable work_cv, ready_cv;
    std::int64_t next_claim = 0, next_consume = 0;
    std::map<std::int64_t, DetectionBatch> ready;
    std::exception_ptr error;
    bool stopping = false;
    std::vector<std::thread> workers;

    mutable std::mutex failure_mutex;
    std::set<std::size_t> failed;  // images that could not be read: detection indices, then class_only's after them
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

    // Reads an image of `set` for one slot, drawing again while the draw is unreadable.
    std::size_t draw_readable(const Dataset& set, AugmentRng& rng, cv::Mat& image) {
        const std::size_t key_offset = &set == &dataset ? 0 : dataset.images.size();
        for (int attempt = 0; attempt < kMaxDrawsPerSlot; ++attempt) {
            const std::size_t i = rng.below(set.images.size());
            if (known_bad(key_offset + i)) continue;
            try {
                image = load_image(set.images[i].image_path);
                return i;
            } catch (const Error& e) {
                record_failure(key_offset + i, e.what());
            }
        }
        std::lock_guard lock(failure_mutex);
        throw Error("no readable image in " + std::to_string(kMaxDrawsPerSlot) + " random draws (" +
                    std::to_string(failed.size()) + " of " + std::to_string(set.images.size()) +
                    " images failed so far)");
    }

    DetectionBatch make_batch(std::int64_t index) {
        DetectionBatch b;
        b.index = index;
        const NetSize size = options.size_for_batch ? options.size_for_batch(index) : options.size;
        if (size.width <= 0 || size.height <= 0)
            throw Error("batch " + std::to_string(index) + ": network size " + std::to_string(size.width) + "x" +
                        std::to_string(size.height) + " is not positive");
        b.width = size.width;
        b.height = size.height;
        const std::size_t per_image = 3ull * size.width * size.height;
        b.images.resize(per_image * options.batch);
        b.truths.resize(options.batch);
        b.paths.resize(options.batch);
        b.image_classes.assign(options.batch, -1);
        for (int slot = 0; slot < options.batch; ++slot) {
            AugmentRng rng(options.seed, static_cast<std::uint64_t>(index), static_cast<std::uint64_t>(slot));
            // Only mixed runs draw the coin, so plain detection batches keep their bytes.
            const bool classification = !class_only.images.empty() && rng.uniform(0, 1) < options.class_share;
            const Dataset& set = classification ? class_only : dataset;
            cv::Mat image;
            const std::size_t i = draw_readable(set, rng, image);
            const LabeledImage& item = set.images[i];
            b.paths[slot] = item.image_path;
            b.truths[slot] = augment_detection(image, item.boxes, size.width, size.height, options.augment, rng,
                                               b.images.data() + per_image * slot);
            if (classification) {
                b.truths[slot].clear();
                b.image_classes[slot] = item.image_class;
            }
        }
        return b;
    }

    void work() {
        for (;;) {
            std::int64_t index;
            {
                std::unique_lock lock(mutex);
                work_cv.wait(lock, [&] {
                    return stopping || (!error && next_claim < next_consume + options.prefetch);
                });
                if (stopping) return;
                index = next_claim++;
            }
            try {
                DetectionBatch b = make_batch(index);
                std::lock_guard lock(mutex);
                ready.emplace(index, std::move(b));
            } catch (...) {
                std::lock_guard lock(mutex);
                if (!error) error = std::current_exception();
            }
            ready_cv.notify_all();
        }
    }
};

DetectionLoader::DetectionLoader(Dataset dataset, LoaderOptions options, Dataset class_only)
    : state_(std::make_unique<State>()) {
    if (dataset.images.empty()) throw Error("data loader: the dataset has no images");
    if (!(options.class_share >= 0 && options.class_share < 1))
        throw Error("data loader: class_share must be in [0, 1) (some detection images are needed), got " +
                    std::to_string(options.class_share));
    for (const LabeledImage& item : class_only.images)
        if (item.image_class < 0 || !item.boxes.empty())
            throw Error("data loader: " + item.image_path +
                        ": a classification-only image needs an image class and no boxes");
    state_->class_only = std::move(class_only);
    if (options.batch <= 0) throw Error("data loader: batch must be positive");
    if (options.threads <= 0) throw Error("data loader: threads must be positive");
    if (options.prefetch <= 0) throw Error("data loader: prefetch must be positive");
    state_->dataset = std::move(dataset);
    state_->options = std::move(options);
    if (state_->options.first_batch < 0) throw Error("data loader: first_batch must not be negative");
    state_->next_claim = state_->next_consume = state_->options.first_batch;
    for (int t = 0; t < state_->options.threads; ++t) state_->workers.emplace_back([s = state_.get()] { s->work(); });
}

DetectionLoader::~DetectionLoader() {
    {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
    }
    state_->work_cv.notify_all();
    for (std::thread& t : state_->workers) t.join();
}

DetectionBatch DetectionLoader::next() {
    State& s = *state_;
    std::unique_lock lock(s.mutex);
    s.ready_cv.wait(lock, [&] { return s.ready.count(s.next_consume) || s.error; });
    const auto it = s.ready.find(s.next_consume);
    if (it == s.ready.end()) std::rethrow_exception(s.error);
    DetectionBatch b = std::move(it->second);
    s.ready.erase(it);
    ++s.next_consume;
    lock.unlock();
    s.work_cv.notify_all();
    return b;
}

DetectionBatch DetectionLoader::make_batch(std::int64_t index) const { return state_->make_batch(index); }

std::size_t DetectionLoader::failed_images() const {
    std::lock_guard lock(state_->failure_mutex);
    return state_->failed.size();
}

std::vector<std::string> DetectionLoader::warnings() const {
    std::lock_guard lock(state_->failure_mutex);
    return state_->warnings;
}

const Dataset& DetectionLoader::dataset() const { return state_->dataset; }

}  // namespace yolo9k

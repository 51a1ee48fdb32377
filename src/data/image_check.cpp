#include "data/image_check.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/limits.h"
#include "io/image_reader.h"

namespace yolo9k {

std::vector<UnreadableImage> find_unreadable_images(const Dataset& dataset, int threads,
                                                    const std::function<void(size_t, size_t)>& progress) {
    check_thread_count(threads, "--threads");
    const size_t n = dataset.images.size();
    std::vector<UnreadableImage> bad;
    std::mutex mutex;
    std::atomic<size_t> next{0}, done{0};
    auto work = [&] {
        for (size_t i; (i = next.fetch_add(1)) < n;) {
            try {
                load_image(dataset.images[i].image_path);
            } catch (const std::exception& e) {  // Error from our reader, bad_alloc or cv::Exception from a decoder
                std::lock_guard lock(mutex);
                bad.push_back({i, e.what()});
            }
            const size_t d = done.fetch_add(1) + 1;
            if (progress && (d % 64 == 0 || d == n)) {
                std::lock_guard lock(mutex);
                progress(d, n);
            }
        }
    };
    std::vector<std::thread> pool;
    const int workers = int(std::min<size_t>(size_t(threads), std::max<size_t>(n, 1)));
    try {
        for (int t = 1; t < workers; ++t) pool.emplace_back(work);
    } catch (...) {
        next = n;  // let the started workers finish at once
        for (auto& t : pool) t.join();
        throw;
    }
    work();
    for (auto& t : pool) t.join();
    std::sort(bad.begin(), bad.end(), [](const UnreadableImage& a, const UnreadableImage& b) { return a.index < b.index; });
    return bad;
}

}  // namespace yolo9k

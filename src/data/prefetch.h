// The batch queue both training loaders share (DetectionLoader, ClassificationLoader):
// worker threads claim batch indices in order, at most `prefetch` ahead of
// the consumer, and build whole batches with a pure function of the index; finished
// batches wait in a map until their turn, so next() returns first, first + 1, ... whatever
// the thread count or timing. A worker's exception stops the workers and is rethrown by
// next() once the batches before it are consumed. With 0 threads next() builds on the
// calling thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace yolo9k {

template <class Batch>
class PrefetchQueue {
public:
    using MakeBatch = std::function<Batch(std::int64_t index)>;

    PrefetchQueue(MakeBatch make, int threads, int prefetch, std::int64_t first)
        : make_(std::move(make)), prefetch_(prefetch), next_claim_(first), next_consume_(first) {
        try {
            for (int t = 0; t < threads; ++t) workers_.emplace_back([this] { work(); });
        } catch (...) {  // e.g. the system refused a thread: stop the ones started, then report
            stop();
            throw;
        }
    }
    ~PrefetchQueue() { stop(); }
    PrefetchQueue(const PrefetchQueue&) = delete;
    PrefetchQueue& operator=(const PrefetchQueue&) = delete;

    // The next batch in order; blocks until it is ready. Rethrows a worker's exception.
    Batch next() {
        if (workers_.empty()) return make_(next_consume_++);
        std::unique_lock lock(mutex_);
        ready_cv_.wait(lock, [&] { return ready_.count(next_consume_) || error_; });
        const auto it = ready_.find(next_consume_);
        if (it == ready_.end()) std::rethrow_exception(error_);
        Batch b = std::move(it->second);
        ready_.erase(it);
        ++next_consume_;
        lock.unlock();
        work_cv_.notify_all();
        return b;
    }

private:
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        work_cv_.notify_all();
        for (std::thread& t : workers_)
            if (t.joinable()) t.join();
    }

    void work() {
        for (;;) {
            std::int64_t index;
            {
                std::unique_lock lock(mutex_);
                work_cv_.wait(lock, [&] { return stopping_ || (!error_ && next_claim_ < next_consume_ + prefetch_); });
                if (stopping_) return;
                index = next_claim_++;
            }
            try {
                Batch b = make_(index);
                std::lock_guard lock(mutex_);
                ready_.emplace(index, std::move(b));
            } catch (...) {
                std::lock_guard lock(mutex_);
                if (!error_) error_ = std::current_exception();
            }
            ready_cv_.notify_all();
        }
    }

    const MakeBatch make_;
    const int prefetch_;
    std::mutex mutex_;
    std::condition_variable work_cv_, ready_cv_;
    std::int64_t next_claim_, next_consume_;
    std::map<std::int64_t, Batch> ready_;
    std::exception_ptr error_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;  // last: started once the rest is constructed
};

}  // namespace yolo9k

#include "distributed/data_parallel.h"

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/log.h"
#include "network/network.h"
#include "train/optimizer.h"

namespace yolo9k {
namespace {

// 16 Mi floats (64 MB): few enough all-reduces for yolov2-voc's 50.6 M parameters (4, plus
// the packed small layers) that per-call latency does not matter, and a bounded extra copy.
constexpr size_t kBucketFloats = size_t(16) << 20;

std::vector<RunningStatistic> all_running_statistics(Network& net) {
    std::vector<RunningStatistic> all;
    for (int i = 0; i < net.size(); ++i)
        for (const RunningStatistic& r : net.layer(i).running_statistics()) all.push_back(r);
    return all;
}

}  // namespace

DataParallelStep::DataParallelStep(Communicator& job, Network& net, int passes_per_rank)
    : job_(job), net_(net), passes_(passes_per_rank) {
    if (job_.size() > 1) bucket_.reserve(kBucketFloats);
}

void DataParallelStep::begin() {
    if (job_.size() == 1) return;
    const std::vector<RunningStatistic> stats = all_running_statistics(net_);
    before_.resize(stats.size());
    for (size_t k = 0; k < stats.size(); ++k) before_[k] = *stats[k].data;
}

void DataParallelStep::finish(std::vector<LayerGradients>& gradients, std::span<double> totals, int64_t iteration) {
    if (job_.size() == 1) return;
    using Clock = std::chrono::steady_clock;
    const auto arrived = Clock::now();
    const std::string step = "iteration " + std::to_string(iteration);
    // Apart from the transfer: how long this rank waits for the slowest one.
    job_.barrier("the end of " + step + "'s passes");
    const auto start = Clock::now();
    waiting_s_ += std::chrono::duration<double>(start - arrived).count();
    reduce_gradients(gradients, "the gradient all-reduce of " + step);
    merge_running_statistics("the running-statistics all-reduce of " + step);
    job_.sum(totals, "the loss all-reduce of " + step);
    communication_s_ += std::chrono::duration<double>(Clock::now() - start).count();
}

void DataParallelStep::reduce_gradients(std::vector<LayerGradients>& gradients, const std::string& what) {
    std::vector<LayerGradients*> packed;  // layers whose gradients are in bucket_
    auto flush = [&] {
        if (packed.empty()) return;
        job_.sum(bucket_, what);
        size_t offset = 0;
        for (LayerGradients* g : packed) {
            std::copy_n(bucket_.begin() + std::ptrdiff_t(offset), g->data.size(), g->data.begin());
            offset += g->data.size();
        }
        packed.clear();
        bucket_.clear();
    };
    // The last layers first: their gradients are the first a backward pass finishes.
    for (auto it = gradients.rbegin(); it != gradients.rend(); ++it) {
        std::vector<float>& data = it->data;
        if (data.size() >= kBucketFloats / 2) {
            job_.sum(data, what);
            continue;
        }
        if (bucket_.size() + data.size() > kBucketFloats) flush();
        bucket_.insert(bucket_.end(), data.begin(), data.end());
        packed.push_back(&*it);
    }
    flush();
}

// Rank r's passes, run from the step's starting value x0, leave x_r = d^S x0 + c_r, where c_r
// holds its own batch values. One process running all P = N*S passes in rank order ends at
// d^P x0 + sum_r d^((N-1-r)S) c_r: each rank contributes its c_r scaled by the passes after
// its own, and the sum is the same on every rank.
void DataParallelStep::merge_running_statistics(const std::string& what) {
    const std::vector<RunningStatistic> stats = all_running_statistics(net_);
    if (stats.empty()) return;
    const int ranks = job_.size(), rank = job_.rank();
    merged_.clear();
    for (size_t k = 0; k < stats.size(); ++k) {
        const float d = stats[k].decay;
        const float own_passes = std::pow(d, float(passes_));
        const float later = std::pow(d, float((ranks - 1 - rank) * passes_));
        const std::vector<float>& now = *stats[k].data;
        for (size_t i = 0; i < now.size(); ++i) merged_.push_back(later * (now[i] - own_passes * before_[k][i]));
    }
    job_.sum(merged_, what);
    size_t offset = 0;
    for (size_t k = 0; k < stats.size(); ++k) {
        const float all_passes = std::pow(stats[k].decay, float(ranks * passes_));
        std::vector<float>& now = *stats[k].data;
        for (size_t i = 0; i < now.size(); ++i) now[i] = all_passes * before_[k][i] + merged_[offset + i];
        offset += now.size();
    }
}

void DataParallelStep::broadcast_model(Optimizer& optimizer) {
    if (job_.size() == 1) return;
    // Ranks given different cfgs must not exchange mismatched buffers.
    uint64_t floats = 0;
    for (int i = 0; i < net_.size(); ++i)
        for (const WeightBlob& blob : net_.layer(i).weight_blobs()) floats += blob.data->size();
    floats += optimizer.total_floats();
    uint64_t root_floats = floats;
    job_.broadcast_value(root_floats, 0, "the start (rank 0's model size)");
    if (root_floats != floats)
        throw Error(format_text("rank %d: its network and optimizer hold %llu floats but rank 0's hold %llu: every "
                                "rank must train the same cfg",
                                job_.rank(), (unsigned long long)floats, (unsigned long long)root_floats));
    for (int i = 0; i < net_.size(); ++i)
        for (const WeightBlob& blob : net_.layer(i).weight_blobs())
            job_.broadcast(std::as_writable_bytes(std::span(*blob.data)), 0, "the start (rank 0's weights)");
    for (std::vector<float>& v : optimizer.velocity())
        job_.broadcast(std::as_writable_bytes(std::span(v)), 0, "the start (rank 0's optimizer state)");
}

}  // namespace yolo9k

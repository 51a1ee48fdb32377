// oneDNN executor: builds one kernel per layer, then plans activation memory so that
// buffers are reused once their last reader has run (peak memory stays a few layers'
// worth, not the sum of all layers).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <sstream>

#include "backend/backend.h"
#include "backend/host/host_train_executor.h"
#include "backend/onednn/kernel.h"
#include "backend/shared_workspace.h"
#include "core/error.h"
#include "core/limits.h"
#include "network/network.h"

namespace yolo9k::onednn {
namespace {

using Buffer = AlignedBuffer;

// Reduced precision runs only on the instructions that make it pay: oneDNN would otherwise
// emulate bf16 with f32 arithmetic (slower than f32) rather than refuse.
const char* isa_name(dnnl::cpu_isa isa) {
    switch (isa) {
        case dnnl::cpu_isa::sse41: return "SSE4.1";
        case dnnl::cpu_isa::avx: return "AVX";
        case dnnl::cpu_isa::avx2: return "AVX2";
        case dnnl::cpu_isa::avx2_vnni: return "AVX2-VNNI";
        case dnnl::cpu_isa::avx512_core: return "AVX-512";
        case dnnl::cpu_isa::avx512_core_vnni: return "AVX-512 with VNNI";
        case dnnl::cpu_isa::avx512_core_bf16: return "AVX-512 with VNNI and BF16";
        case dnnl::cpu_isa::avx512_core_amx: return "AMX";
        default: return "an older ISA";
    }
}

// oneDNN's ISA values are nested bit sets: a level has a feature when it contains its bits.
bool has_isa(dnnl::cpu_isa isa, dnnl::cpu_isa feature) { return (unsigned(isa) & unsigned(feature)) == unsigned(feature); }

void require_isa_for(Precision p) {
    if (p == Precision::f32) return;
    const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
    const bool ok = p == Precision::bf16 ? has_isa(isa, dnnl::cpu_isa::avx512_core_bf16)
                                         : has_isa(isa, dnnl::cpu_isa::avx512_core_vnni) ||
                                               has_isa(isa, dnnl::cpu_isa::avx2_vnni);
    const char* needs = p == Precision::bf16 ? "--precision bf16 needs a CPU with AVX512-BF16 (vdpbf16ps)"
                                             : "--precision int8 needs a CPU with VNNI (vpdpbusd: AVX512-VNNI or AVX-VNNI)";
    if (!ok)
        throw Error(std::string(needs) + "; oneDNN reports " + isa_name(isa) +
                    (std::getenv("ONEDNN_MAX_CPU_ISA") ? " (limited by ONEDNN_MAX_CPU_ISA)" : "") + "; use --precision f32");
}

class OnednnExecutor final : public Executor {
public:
    OnednnExecutor(const Network& net, const ExecutorOptions& o)
        : net_(net), batch_(o.batch), threads_(o.threads > 0 ? o.threads : default_thread_count()),
          engine_(dnnl::engine::kind::cpu, 0), stream_(engine_), workspace_(o.workspace) {
        if (net.weights_released()) throw Error("onednn backend: the network's host weights were released");
        if (o.threads != 0) check_thread_count(o.threads, "--threads");
        const auto* own = dynamic_cast<const Settings*>(o.settings.get());
        const Settings settings = own ? *own : Settings();
        omp_set_num_threads(threads_);
        require_isa_for(o.precision);
        const int n = net.size();
        // int8: the scale each 8-bit activation is stored at (0 where a layer writes f32).
        std::vector<float> s8_range(n, 0.f);
        if (o.precision == Precision::int8) {
            if (!o.activation_ranges)
                throw Error("--precision int8 needs calibrated activation ranges: make them with `yolo9k calibrate` "
                            "and pass the file with --calibration");
            s8_range = int8_output_ranges(net, *o.activation_ranges);
        }
        const auto range_of = [&](int s) {
            if (s < 0) return o.activation_ranges->input;
            if (s8_range[s] > 0) return ActivationRange{-s8_range[s], s8_range[s]};
            return o.activation_ranges->layers[s];
        };
        input_ = memory(plain_desc(batch_, net.input_shape()), engine_, nullptr);
        std::vector<bool> feeds_head(n, false);
        feeds_head[net.output_layer()] = true;
        for (int s : net.layer(net.output_layer()).sources())
            if (s >= 0) feeds_head[s] = true;

        // 1. Kernels, each choosing its output layout given its inputs' layouts.
        std::vector<memory::desc> value_md(n);
        std::vector<int> owner(n);  // which layer's buffer holds this layer's output
        size_t winograd_budget = settings.winograd_memory;
        for (int i = 0; i < n; ++i) {
            const Layer& layer = net.layer(i);
            KernelContext ctx{.engine = engine_, .layer = layer, .batch = batch_, .conv_algorithm = settings.conv_algorithm,
                              .precision = o.precision, .f32_output = feeds_head[i], .dst_range = s8_range[i],
                              .winograd_budget = &winograd_budget};
            for (int s : layer.sources()) {
                ctx.src.push_back(s < 0 ? input_.get_desc() : value_md[s]);
                if (o.precision == Precision::int8) ctx.src_range.push_back(range_of(s));
            }
            const KernelFactory* f = kernels().find(layer.type());
            kernels_.push_back(f ? (*f)(ctx) : make_reference_kernel(ctx));
            Kernel& k = *kernels_.back();
            if (k.alias_src0 && layer.sources()[0] >= 0) {
                value_md[i] = value_md[layer.sources()[0]];
                owner[i] = owner[layer.sources()[0]];
            } else {
                if (k.alias_src0) throw Error("internal: an identity layer cannot alias the network input");
                value_md[i] = k.dst;
                owner[i] = i;
            }
            scratch_bytes_ = std::max(scratch_bytes_, k.scratchpad_bytes);
            if (o.on_layer_ready && !k.needs_host_weights) o.on_layer_ready(i);
        }

        value_range_ = s8_range;
        for (int i = 0; i < n; ++i)
            if (owner[i] != i) value_range_[i] = value_range_[owner[i]];

        // 2. Lifetimes: a buffer lives until the last layer that reads any value stored in it.
        const int out = net.output_layer();
        std::vector<int> last_use(n, -1);
        for (int i = 0; i < n; ++i) {
            last_use[owner[i]] = std::max(last_use[owner[i]], i);
            for (int s : net.layer(i).sources())
                if (s >= 0) last_use[owner[s]] = std::max(last_use[owner[s]], i);
        }
        last_use[owner[out]] = INT_MAX;
        if (o.keep_outputs) std::fill(last_use.begin(), last_use.end(), INT_MAX);

        // 3. Greedy placement: reuse the smallest free buffer that fits.
        struct Slot {
            size_t bytes;
            bool free;
        };
        std::vector<Slot> slots;
        std::vector<int> slot_of(n, -1);
        for (int i = 0; i < n; ++i) {
            if (owner[i] == i) {
                const size_t need = value_md[i].get_size();
                int best = -1;
                for (int s = 0; s < int(slots.size()); ++s)
                    if (slots[s].free && slots[s].bytes >= need && (best < 0 || slots[s].bytes < slots[best].bytes)) best = s;
                if (best < 0) {  // grow the largest free slot, or add one
                    for (int s = 0; s < int(slots.size()); ++s)
                        if (slots[s].free && (best < 0 || slots[s].bytes > slots[best].bytes)) best = s;
                    if (best < 0) {
                        slots.push_back({0, true});
                        best = int(slots.size()) - 1;
                    }
                    slots[best].bytes = need;
                }
                slots[best].free = false;
                slot_of[i] = best;
            }
            for (int v = 0; v <= i; ++v)
                if (owner[v] == v && last_use[v] == i) slots[slot_of[v]].free = true;
        }
        // Own buffers, or slots of the shared workspace (slot 0: the scratchpad).
        for (const auto& s : slots) {
            slot_bytes_.push_back(s.bytes);
            if (!workspace_) buffers_.push_back(allocate_aligned(s.bytes, "activations"));
            activation_bytes_ += s.bytes;
        }
        if (!workspace_) scratch_ = allocate_aligned(scratch_bytes_, "scratchpad");
        slot_of_value_.resize(n);
        for (int i = 0; i < n; ++i) slot_of_value_[i] = slot_of[owner[i]];
        bound_ = addresses();
        scratch_mem_ = memory(memory::desc({int64_t(std::max<size_t>(scratch_bytes_, 1))}, memory::data_type::u8, tag::a),
                              engine_, bound_[0]);

        // 4. Bind.
        values_.resize(n);
        for (int i = 0; i < n; ++i) values_[i] = memory(value_md[i], engine_, bound_[1 + slot_of_value_[i]]);
        for (int i = 0; i < n; ++i) {
            std::vector<memory> srcs;
            for (int s : net.layer(i).sources()) srcs.push_back(s < 0 ? input_ : values_[s]);
            kernels_[i]->bind(srcs, values_[i], scratch_mem_);
        }

        // 5. The result in plain NCHW (detection heads already write it so).
        if (!is_plain_nchw(value_md[out])) {
            output_plain_ = memory(plain_desc(batch_, net.layer(out).output_shape()), engine_);
            output_reorder_ = dnnl::reorder(values_[out], output_plain_);
        } else {
            output_plain_ = values_[out];
        }
    }

    std::string backend() const override { return "onednn"; }
    int batch() const override { return batch_; }

    void forward(const float* input) override {
        omp_set_num_threads(threads_);
        rebind_if_moved();
        input_.set_data_handle(const_cast<float*>(input));
        for (auto& k : kernels_) k->execute(stream_);
        if (output_reorder_) output_reorder_.execute(stream_, values_[net_.output_layer()], output_plain_);
        stream_.wait();
    }

    void forward_timed(const float* input, std::vector<double>& layer_ms) override {
        omp_set_num_threads(threads_);
        rebind_if_moved();
        input_.set_data_handle(const_cast<float*>(input));
        layer_ms.assign(kernels_.size(), 0.0);
        for (size_t i = 0; i < kernels_.size(); ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            kernels_[i]->execute(stream_);
            stream_.wait();
            layer_ms[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        }
        if (output_reorder_) output_reorder_.execute(stream_, values_[net_.output_layer()], output_plain_);
        stream_.wait();
    }

    const float* output() const override { return static_cast<const float*>(output_plain_.get_data_handle()); }

    std::vector<float> layer_output(int layer) const override {
        const Shape s = net_.layer(layer).output_shape();
        std::vector<float> out(size_t(batch_) * s.size());
        memory plain(plain_desc(batch_, s), engine_, out.data());
        dnnl::stream st(engine_);
        dnnl::primitive_attr dequantize;  // an s8 activation holds real / (range / 127)
        if (value_range_.at(layer) > 0) dequantize.set_output_scales(0, {value_range_[layer] / 127.f});
        dnnl::reorder(dnnl::reorder::primitive_desc(engine_, values_.at(layer).get_desc(), engine_, plain.get_desc(), dequantize))
            .execute(st, const_cast<memory&>(values_[layer]), plain);
        st.wait();
        return out;
    }

    ExecutionPlan plan() const override {
        ExecutionPlan p{.activation_bytes = activation_bytes_, .scratchpad_bytes = scratch_bytes_,
                        .buffers = int(buffers_.size())};
        for (int i = 0; i < net_.size(); ++i) {
            const Kernel& k = *kernels_[i];
            p.layers.push_back({.layer = i, .type = std::string(net_.layer(i).type()), .kernel = k.impl,
                                .output_layout = k.alias_src0 ? "(alias)" : layout_name(k.dst), .reorders = k.reorders,
                                .extra_weight_bytes = k.extra_weight_bytes});
        }
        return p;
    }

protected:
    const Network& network() const override { return net_; }

private:
    // Where the scratchpad (index 0) and each activation slot (1 + slot) live now.
    std::vector<void*> addresses() {
        std::vector<void*> a{workspace_ ? workspace_->reserve(0, scratch_bytes_) : scratch_.get()};
        for (size_t s = 0; s < slot_bytes_.size(); ++s)
            a.push_back(workspace_ ? workspace_->reserve(1 + s, slot_bytes_[s]) : buffers_[s].get());
        return a;
    }

    // A shared workspace grows when a larger executor joins it, and its slots move: the
    // memory objects the kernels hold are handles, so pointing them at the new place is enough.
    void rebind_if_moved() {
        if (!workspace_) return;
        std::vector<void*> now = addresses();
        if (now == bound_) return;
        scratch_mem_.set_data_handle(now[0]);
        for (size_t i = 0; i < values_.size(); ++i) values_[i].set_data_handle(now[1 + slot_of_value_[i]]);
        bound_ = std::move(now);
    }

    const Network& net_;
    int batch_, threads_;
    dnnl::engine engine_;
    dnnl::stream stream_;
    memory input_;
    std::vector<std::unique_ptr<Kernel>> kernels_;
    std::shared_ptr<SharedWorkspace> workspace_;
    std::vector<Buffer> buffers_;  // own activation slots (none with a shared workspace)
    std::vector<size_t> slot_bytes_;
    std::vector<int> slot_of_value_;  // each layer's output: its slot
    std::vector<void*> bound_;        // addresses() the memory objects point at
    std::vector<memory> values_;
    std::vector<float> value_range_;  // int8: the range each s8 value is scaled to; 0: f32
    Buffer scratch_;
    memory scratch_mem_;
    size_t scratch_bytes_ = 0, activation_bytes_ = 0;
    memory output_plain_;
    dnnl::reorder output_reorder_;
};

const BackendRegistrar registrar({
    .name = "onednn",
    .summary = "oneDNN on the CPU: blocked layouts, Winograd 3x3 convolutions, fused batch norm",
    .supports = [](std::string_view type) { return kernels().find(type) != nullptr; },
    .supports_training = [](std::string_view type) { return train_kernels().find(type) != nullptr; },
    .precisions = {Precision::f32, Precision::bf16, Precision::int8},
    .make_executor = [](const Network& n, const ExecutorOptions& o) -> std::unique_ptr<Executor> {
        return std::make_unique<OnednnExecutor>(n, o);
    },
    .make_train_executor = [](Network& n, const TrainExecutorOptions& o) {
        return make_host_train_executor(n, "onednn", o, [](std::string_view type) { return train_kernels().find(type); });
    },
});

}  // namespace
}  // namespace yolo9k::onednn

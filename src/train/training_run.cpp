#include "train/training_run.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "backend/executor.h"
#include "backend/train_executor.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/log.h"
#include "network/initialize.h"
#include "network/network.h"
#include "train/chart.h"
#include "train/schedule.h"

namespace yolo9k {

namespace fs = std::filesystem;

void apply_net_overrides(NetParams& p, const TrainingRunOptions& o) {
    if (o.batch > 0) p.batch = o.batch;
    if (o.subdivisions > 0) p.subdivisions = o.subdivisions;
    if (o.max_batches > 0) p.max_batches = o.max_batches;
    if (o.learning_rate > 0) p.learning_rate = o.learning_rate;
    if (o.burn_in >= 0) p.burn_in = o.burn_in;
    if (p.batch % p.subdivisions != 0)
        throw Error(o.cfg + ": batch (" + std::to_string(p.batch) + ") must be a multiple of subdivisions (" +
                    std::to_string(p.subdivisions) + ")");
    if (p.max_batches <= 0) throw Error(o.cfg + ": [net] max_batches must be set (or pass --max-batches)");
}

StepLayout plan_step(const NetParams& p, int rank, int ranks, const std::string& cfg) {
    StepLayout l;
    l.rank = rank;
    l.ranks = ranks;
    if (p.subdivisions % ranks == 0) l.passes = p.subdivisions / ranks;
    else if (ranks % p.subdivisions == 0) l.passes = 1;
    else
        throw Error(cfg + ": subdivisions (" + std::to_string(p.subdivisions) + ") cannot be shared among " +
                    std::to_string(ranks) + " ranks: use a multiple or a divisor of the rank count");
    const int passes = ranks * l.passes;
    if (p.batch % passes != 0)
        throw Error(cfg + ": batch (" + std::to_string(p.batch) + ") cannot be split into " + std::to_string(ranks) +
                    " ranks x " + std::to_string(l.passes) + " passes of equal size");
    l.images_per_pass = p.batch / passes;
    l.first_image = rank * l.passes * l.images_per_pass;
    return l;
}

std::string format_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    long t = long(s);
    char b[32];
    if (t >= 3600) std::snprintf(b, sizeof b, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else std::snprintf(b, sizeof b, "%ldm%02lds", t / 60, t % 60);
    return b;
}

RunDirectory::RunDirectory(std::string dir, std::string name) : dir_(std::move(dir)), name_(std::move(name)) {}

std::string RunDirectory::path(const std::string& suffix) const {
    return (fs::path(dir_) / (name_ + "_" + suffix + ".weights")).string();
}

void RunDirectory::clear_interrupted_writes(bool quiet) const {
    for (const auto& e : fs::directory_iterator(dir_)) {
        const std::string f = e.path().filename().string();
        if (f.rfind(name_ + "_", 0) == 0 && f.find(AtomicFile::kTempInfix) != std::string::npos) {
            std::error_code ec;
            fs::remove(e.path(), ec);
            if (!ec && !quiet) log_message(LogLevel::note, "removed " + e.path().string() + " (left by an interrupted write)");
        }
    }
}

TrainState start_or_resume(Network& net, Optimizer& opt, int images_per_step, const RunDirectory& run,
                           const TrainingRunOptions& o) {
    TrainState state;
    state.seed = o.seed;
    if (o.resume) {
        const std::string last = run.path("last");
        if (!fs::exists(last)) throw Error(last + ": nothing to resume (no _last checkpoint in " + run.dir() + ")");
        std::string warning;
        state = load_checkpoint(last, net, opt, images_per_step, warning);
        if (!warning.empty()) {
            log_message(LogLevel::warning, warning);
            state.seed = o.seed;  // a stale .state's seed is not to be trusted
        }
        if (!o.quiet)
            log_message(LogLevel::note, "resuming " + last + " at iteration " + std::to_string(state.iteration));
    } else if (!o.weights.empty()) {
        // Initialise everything first, as darknet does when it builds the network: a
        // partial file (e.g. darknet19_448.conv.23) then overwrites only its prefix and the
        // new layers start from random weights, not from zeros (which would never learn).
        initialize_weights(net, o.seed, o.head_init_scale);
        const int loaded = net.load_weights(o.weights, /*allow_prefix=*/true);
        if (!o.quiet)
            log_message(LogLevel::note, format_text("loaded %d of %d layers from %s%s", loaded, net.size(), o.weights.c_str(),
                                                    loaded < net.size() ? "; the rest start from random weights" : ""));
        if (o.clear) net.header().seen = 0;
        state.seen = net.header().seen;
        state.iteration = int64_t(state.seen / uint64_t(images_per_step));
    } else {
        initialize_weights(net, o.seed, o.head_init_scale);
        net.header().seen = 0;
    }
    return state;
}

namespace {
std::string chart_path(const TrainingRunOptions& o, const RunDirectory& files) {
    if (o.no_chart) return "";
    return o.chart.empty() ? (fs::path(files.dir()) / (files.name() + "_chart.png")).string() : o.chart;
}
}  // namespace

TrainingRun::TrainingRun(const TrainingRunOptions& options, std::string backup, Network& net, std::string chart_metric)
    : options_(options),
      net_(net),
      params_(net.params()),
      images_per_step_(net.params().batch),
      files_(backup.empty() ? "backup" : std::move(backup),
             options.name.empty() ? fs::path(options.cfg).stem().string() : options.name),
      chart_(chart_path(options, files_)),
      chart_metric_(std::move(chart_metric)),
      optimizer_(net),
      job_(training_job()),
      layout_(plan_step(net.params(), job_.rank(), job_.size(), options.cfg)),
      data_parallel_(job_, net, layout_.passes) {
    job_.set_timeout(options.collective_timeout_s);
    // Rank 0 alone reads and writes the run's files; the others take its start.
    if (is_root()) {
        fs::create_directories(files_.dir());
        files_.clear_interrupted_writes(options.quiet);
        state = start_or_resume(net, optimizer_, images_per_step_, files_, options);
    }
    if (job_.size() > 1) {
        struct Position {
            int64_t iteration;
            uint64_t seen, seed;
            float avg_loss;
        } position{state.iteration, state.seen, state.seed, state.avg_loss};
        job_.broadcast_value(position, 0, "the start (rank 0's schedule position)");
        state.iteration = position.iteration;
        state.seen = position.seen;
        state.seed = position.seed;
        state.avg_loss = position.avg_loss;
        net.header().seen = state.seen;
        data_parallel_.broadcast_model(optimizer_);
        job_.set_timeout_hint("The last checkpoint is " + files_.path("last") + "; continue with --resume");
    }
}

bool TrainingRun::as_on_root(bool value, const std::string& what) {
    std::uint8_t v = value ? 1 : 0;
    job_.broadcast_value(v, 0, what);
    return v != 0;
}

void TrainingRun::evaluate_on_root(const std::function<void()>& evaluate) {
    if (job_.size() == 1) return evaluate();
    std::exception_ptr failure;
    if (is_root()) try {
            evaluate();
        } catch (...) {
            failure = std::current_exception();
        }
    const bool all_ok = job_.all_succeeded(!failure);
    if (failure) std::rethrow_exception(failure);
    if (!all_ok)
        throw Error(format_text("rank %d: rank 0 failed while evaluating iteration %lld (its message says why)",
                                job_.rank(), (long long)state.iteration));
}

int TrainingRun::compute_threads(int requested) const {
    if (requested > 0 || job_.local_size() <= 1) return requested;
    return std::max(1, default_thread_count() / job_.local_size());
}

bool TrainingRun::done() const { return state.iteration >= params_.max_batches; }

void TrainingRun::begin_step() {
    step_start_ = Clock::now();
    if (steps_here_ == 0) start_ = step_start_;
    data_parallel_.begin();
}

TrainingRun::Step TrainingRun::finish_step(TrainExecutor& exec, std::vector<double>& totals) {
    data_parallel_.finish(exec.gradients(), totals, state.iteration + 1);
    Step s;
    s.loss = float(totals.at(0) / images_per_step_);
    if (!std::isfinite(s.loss))
        throw Error("training diverged at iteration " + std::to_string(state.iteration + 1) + ": loss is " +
                    std::to_string(s.loss) + "; the last good checkpoint is " + files_.path("last") +
                    " (lower learning_rate or check the data)");
    s.lr = learning_rate_at(params_, state.iteration);
    optimizer_.step(exec.gradients(), s.lr, params_.momentum, params_.decay, images_per_step_, state.iteration);
    exec.parameters_changed();
    ++state.iteration;
    ++steps_here_;
    state.seen += uint64_t(images_per_step_);
    net_.header().seen = state.seen;
    state.avg_loss = state.avg_loss < 0 ? s.loss : state.avg_loss * .9f + s.loss * .1f;
    state.history.iteration.push_back(state.iteration);
    state.history.loss.push_back(s.loss);
    state.history.avg_loss.push_back(state.avg_loss);

    const double dt = std::chrono::duration<double>(Clock::now() - step_start_).count();
    step_seconds_avg_ = step_seconds_avg_ < 0 ? dt : step_seconds_avg_ * .9 + dt * .1;
    s.images_per_s = float(images_per_step_ / dt);
    s.eta_s = step_seconds_avg_ * double(params_.max_batches - state.iteration);
    return s;
}

void TrainingRun::save_last() {
    if (!is_root()) return;
    save_checkpoint(files_.path("last"), net_, state, optimizer_);
    if (!chart_.empty()) write_training_chart(chart_, state.history, params_.max_batches, files_.name(), chart_metric_);
}

bool TrainingRun::save_after_step() {
    const bool last_step = done();
    // Asked to stop (checked after the step's progress callback): in a data-parallel job the
    // ranks agree, so that a signal reaching one rank stops them all at this step.
    double stop = options_.stop_requested && options_.stop_requested() ? 1 : 0;
    job_.sum(std::span(&stop, 1), "the stop agreement of iteration " + std::to_string(state.iteration));
    interrupted_ = stop > 0;
    const bool stop_now = (options_.stop_after > 0 && steps_here_ >= options_.stop_after) || interrupted_;
    if (is_root() && options_.save_every > 0 && state.iteration % options_.save_every == 0 && !last_step)
        net_.save_weights(files_.path(std::to_string(state.iteration)));
    if ((options_.checkpoint_every > 0 && state.iteration % options_.checkpoint_every == 0) || last_step || stop_now)
        save_last();
    return stop_now;
}

void TrainingRun::record_evaluation(double metric, double train_metric) {
    TrainHistory& h = state.history;
    h.map_iteration.push_back(state.iteration);
    h.map.push_back(float(metric));
    if (train_metric >= 0 || !h.train_map.empty()) {
        h.train_map.resize(h.map.size() - 1, -1.f);  // earlier points (a resumed older run): not measured
        h.train_map.push_back(float(train_metric));
    }
    if (metric > state.best_map) {
        state.best_map = float(metric);
        if (is_root()) net_.save_weights(files_.path("best"));
    }
    save_last();
}

void TrainingRun::finish(TrainingRunResult& result) {
    result.iterations = state.iteration;
    result.iterations_this_run = steps_here_;
    result.interrupted = interrupted_;
    result.final_avg_loss = state.avg_loss;
    result.ranks = job_.size();
    result.communication_seconds = data_parallel_.communication_seconds();
    result.waiting_seconds = data_parallel_.waiting_seconds();
    if (done()) {
        result.final_weights = files_.path("final");
        if (is_root()) net_.save_weights(result.final_weights);
    } else {
        result.final_weights = files_.path("last");
    }
    result.seconds = steps_here_ > 0 ? std::chrono::duration<double>(Clock::now() - start_).count() : 0;
    result.images_per_s = result.seconds > 0 ? double(steps_here_ * images_per_step_) / result.seconds : 0;
}

}  // namespace yolo9k

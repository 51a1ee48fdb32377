// What every training run shares, whatever it trains (the detector trainer and the
// classifier trainer): the options of the run itself, the checkpoint folder and its file
// names, starting (resume / pretrained weights / random init), and the per-iteration
// bookkeeping around the forward/backward passes: optimizer step, running loss, history,
// progress timing, periodic checkpoints, the best-so-far weights and the final save.
#pragma once

#include <functional>
#include <chrono>
#include <cstdint>
#include <string>

#include "data/step_slots.h"
#include "distributed/communicator.h"
#include "distributed/data_parallel.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

namespace yolo9k {

struct NetParams;
class TrainExecutor;

struct TrainingRunOptions {
    std::string cfg, weights;  // weights: pretrained / partial (prefix files accepted), optional
    std::string backup_dir;    // default: the data's `backup`, else "backup"
    std::string name;          // checkpoint prefix; default: the cfg's file stem
    bool resume = false;       // continue from <backup>/<name>_last.weights (+ .state)
    bool clear = false;        // reset `seen` of the given weights (darknet's -clear)
    uint64_t seed = 1;
    float head_init_scale = 1;  // initialize_weights' head_scale for randomly initialised layers
    int threads = 0, loader_threads = 2;
    std::string backend = "onednn";
    // Overrides of the cfg's [net] (for small runs and tests); <= 0 keeps the cfg's.
    int batch = 0, subdivisions = 0, max_batches = 0, size = 0;
    float learning_rate = 0;
    int burn_in = -1;
    bool augment = true;
    int checkpoint_every = 100;  // <name>_last.weights
    int save_every = 1000;       // <name>_<iter>.weights
    std::string chart;           // default <backup>/<name>_chart.png ("" with no_chart)
    bool no_chart = false;
    bool quiet = false;
    // Stop after this many iterations in this process (tests of kill/resume); 0: run to max_batches.
    int64_t stop_after = 0;
    // Polled after every step (e.g. the CLI's Ctrl-C flag): true saves <name>_last with its
    // state and ends the run there, so an interrupted run loses no step. In a data-parallel
    // job the ranks agree: any rank asked to stop stops them all at the same step.
    std::function<bool()> stop_requested;
    // Data-parallel jobs (under mpirun): seconds a step's collective may wait for the other
    // ranks before the job is ended (a rank died or stopped); <= 0: forever.
    double collective_timeout_s = 300;
};

struct TrainingRunResult {
    int64_t iterations = 0;           // the run's total: where the schedule stands
    int64_t iterations_this_run = 0;  // steps this process took (after a resume, fewer)
    float final_avg_loss = 0;
    std::string final_weights;  // <backup>/<name>_final.weights (or _last when stopped early)
    double seconds = 0;
    double images_per_s = 0;
    bool interrupted = false;  // ended by stop_requested (the checkpoint is saved)
    int ranks = 1;             // processes of the data-parallel job
    double communication_seconds = 0;  // of `seconds`, spent exchanging gradients and totals
    double waiting_seconds = 0;        // of `seconds`, waiting for the slowest rank's passes
};

// How one optimizer step of [net] batch images is split: over the job's ranks, then into
// each rank's forward/backward passes (darknet's subdivisions, counted over the whole job).
// With subdivisions S and N ranks, each rank makes S/N passes (one when N is a multiple of
// S) of batch/(N * passes) images, and rank r holds the step's images from r * batch/N on:
// the passes are the ones one process with N * passes subdivisions would make.
struct StepLayout {
    int ranks = 1, rank = 0;
    int passes = 1;           // this rank's passes per step
    int images_per_pass = 1;  // the executor's batch
    int first_image = 0;      // this rank's first image within the step
    StepSlots slots() const { return {passes, first_image}; }
};
// Error naming the cfg when the batch cannot be split so.
StepLayout plan_step(const NetParams& p, int rank, int ranks, const std::string& cfg);

// Applies the options' batch / subdivisions / max_batches / learning_rate / burn_in to the
// cfg's [net] and checks that the result can train (Error naming the cfg otherwise).
void apply_net_overrides(NetParams& p, const TrainingRunOptions& options);

// "1h05m", "3m07s"; "?" for a negative or non-finite estimate.
std::string format_duration(double seconds);

// <backup>/<name>_<suffix>.weights and the chart, for one run.
class RunDirectory {
public:
    RunDirectory(std::string dir, std::string name);
    const std::string& dir() const { return dir_; }
    const std::string& name() const { return name_; }
    std::string path(const std::string& suffix) const;
    // A run killed mid-write leaves "<file>.tmp.<pid>" behind (never a corrupt checkpoint):
    // removes this run's leftovers, saying so unless quiet.
    void clear_interrupted_writes(bool quiet) const;

private:
    std::string dir_, name_;
};

// With options.resume, <name>_last.weights and its .state (Error when there is none; a
// stale or missing .state is a warning, and the options' seed is used); else the given
// weights (their `seen` sets the iteration, unless options.clear), else a random init.
TrainState start_or_resume(Network& net, Optimizer& optimizer, int images_per_step, const RunDirectory& run,
                           const TrainingRunOptions& options);

// One run's state and its files. Constructed once the data is loaded: creates the backup
// folder (`backup` or "backup"), clears interrupted writes and starts or resumes. Each
// iteration: begin_step(), the passes, finish_step(), the trainer's progress line,
// save_after_step(), then optionally record_evaluation(); at the end finish().
class TrainingRun {
public:
    // chart_metric names the evaluation points on the chart ("mAP@.5", "top-1").
    TrainingRun(const TrainingRunOptions& options, std::string backup, Network& net, std::string chart_metric);

    struct Step {
        float loss = 0, lr = 0;
        float images_per_s = 0;
        double eta_s = 0;  // from a running average of the step time
    };

    TrainState state;
    int images_per_step() const { return images_per_step_; }
    const StepLayout& layout() const { return layout_; }
    // Rank 0 writes checkpoints, charts and evaluations, and prints progress.
    bool is_root() const { return job_.rank() == 0; }
    Communicator& job() { return job_; }
    // `seen` as the step's pass `pass` of this rank starts (the region loss's prior pull).
    uint64_t seen_at_pass(int pass) const {
        return state.seen + uint64_t(layout_.first_image) + uint64_t(pass) * uint64_t(layout_.images_per_pass);
    }
    // --threads, or (0) the cores shared among the ranks on this machine.
    int compute_threads(int requested) const;
    // Rank 0's value of `value` on every rank (decisions only rank 0's files can make).
    bool as_on_root(bool value, const std::string& what);
    // Runs `evaluate` on rank 0 while the other ranks wait (untimed, without spinning). An
    // exception on rank 0 ends the wait everywhere: rethrown there, an Error on the others.
    void evaluate_on_root(const std::function<void()>& evaluate);
    bool done() const;  // max_batches reached
    bool interrupted() const { return interrupted_; }  // stop_requested said so at the last step

    void begin_step();
    // totals[0]: the summed loss of this rank's images, whose gradients exec holds; the rest
    // whatever else the trainer sums over the step (counts for its progress line). Sums
    // gradients and totals over the ranks, throws when the loss is not finite, else steps
    // the optimizer and records the loss; `seen` advances by the step's images.
    Step finish_step(TrainExecutor& exec, std::vector<double>& totals);
    // Keeps _<iter> every save_every, writes _last (+ chart) every checkpoint_every, at the
    // end and when stopping; returns whether stop_after says to stop now.
    bool save_after_step();
    // An evaluation point on the chart; a new best is kept as _best. Writes _last.
    // `train_metric`: the same measure on training images, or -1 (not measured).
    void record_evaluation(double metric, double train_metric = -1);
    void save_last();
    // Saves _final when max_batches was reached and fills in the result.
    void finish(TrainingRunResult& result);

private:
    using Clock = std::chrono::steady_clock;
    const TrainingRunOptions& options_;
    Network& net_;
    const NetParams& params_;
    const int images_per_step_;
    RunDirectory files_;
    std::string chart_, chart_metric_;
    Optimizer optimizer_;
    Communicator& job_;
    StepLayout layout_;
    DataParallelStep data_parallel_;
    Clock::time_point start_, step_start_;
    double step_seconds_avg_ = -1;
    int64_t steps_here_ = 0;
    bool interrupted_ = false;
};

}  // namespace yolo9k

// The command-line options of a training run that `train` and `classifier train` share
// (the public TrainerOptions and ClassifierTrainerOptions name them alike), registered in
// two groups so each command can put its own options between them.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "cli/validators.h"
#include "yolo9k/trainer.h"

namespace yolo9k::cli {

// --head-init-scale: the scale of the randomly initialised head (initialize_weights).
inline void add_head_init_scale_option(CLI::App& sub, float& scale) {
    sub.add_option("--head-init-scale", scale,
                   "random initialisation: scale of the convolutions without batch norm (the head) against darknet's; "
                   "AlexeyAB darknet's is 0.577, which sparse sets learn from sooner")
        ->capture_default_str()
        ->check(finite_range(1e-3, 10));
}

// --cfg (required), --weights, --backup, --name, --resume, --clear, --seed, --threads,
// --loader-threads, --backend, --batch, --subdivisions, --max-batches, --learning-rate,
// --burn-in; the help of --cfg and --weights names what the command trains.
template <class Options>
void add_run_setup_options(CLI::App& sub, Options& o, const std::string& cfg_help, const std::string& weights_help) {
    sub.add_option("--cfg", o.cfg, cfg_help)->required()->check(CLI::ExistingFile);
    sub.add_option("--weights", o.weights, weights_help)->check(CLI::ExistingFile);
    sub.add_option("--backup", o.backup_dir, "checkpoint folder (default: the .data's backup, else ./backup)");
    sub.add_option("--name", o.name, "checkpoint prefix (default: the cfg's name)");
    sub.add_flag("--resume", o.resume, "continue from <backup>/<name>_last.weights and its .state");
    sub.add_flag("--clear", o.clear, "start the schedule from 0 even if the weights have seen images");
    sub.add_option("--seed", o.seed, "random seed: a run is reproducible from it");
    add_head_init_scale_option(sub, o.head_init_scale);
    sub.add_option("--threads", o.threads, "compute threads (default: all cores)")->check(CLI::NonNegativeNumber);
    sub.add_option("--loader-threads", o.loader_threads, "data loading threads")->check(CLI::PositiveNumber);
    sub.add_option("--backend", o.backend, "what computes: onednn (fast) or reference (see `yolo9k info --backends`)")
        ->check(backend_name(/*training=*/true));
    sub.add_option("--batch", o.batch, "override [net] batch (images per step)")->check(CLI::Range(1, 1 << 16));
    sub.add_option("--subdivisions", o.subdivisions, "override [net] subdivisions")->check(CLI::Range(1, 1 << 16));
    sub.add_option("--max-batches", o.max_batches, "override [net] max_batches")->check(CLI::PositiveNumber);
    sub.add_option("--learning-rate", o.learning_rate, "override [net] learning_rate")->check(finite_positive());
    sub.add_option("--burn-in", o.burn_in, "override [net] burn_in")->check(CLI::NonNegativeNumber);
    sub.add_option("--collective-timeout", o.collective_timeout_s,
                   "under mpirun: seconds a step may wait for the other ranks before the job ends as hung (0: forever)")
        ->check(finite_range(0, 1e7))->capture_default_str();
}

// --checkpoint-every, --save-every, --chart, --no-chart, --stop-after, -q/--quiet.
template <class Options>
void add_run_output_options(CLI::App& sub, Options& o) {
    sub.add_option("--checkpoint-every", o.checkpoint_every, "write <name>_last.weights every N steps (0: only at the end)")->check(CLI::NonNegativeNumber);
    sub.add_option("--save-every", o.save_every, "keep <name>_<step>.weights every N steps")->check(CLI::NonNegativeNumber);
    sub.add_option("--chart", o.chart_path, "training chart PNG (default <backup>/<name>_chart.png)");
    sub.add_flag("!--no-chart", o.chart, "do not draw the chart");
    sub.add_option("--stop-after", o.stop_after, "stop (with a checkpoint) after N steps in this run")->check(CLI::PositiveNumber);
    sub.add_flag("-q,--quiet", o.quiet, "no progress lines");
}

// Runs `trainer` with Ctrl-C / SIGTERM cancelling it (the first signal saves <name>_last and
// stops after the current step; a second quits at once), prints the summary line, and
// returns the exit code: 0, or 128 + the signal when interrupted.
int run_training(Trainer& trainer);
int run_training(ClassifierTrainer& trainer);

}  // namespace yolo9k::cli

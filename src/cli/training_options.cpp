#include "cli/training_options.h"

#include <atomic>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "yolo9k/distributed.h"

namespace yolo9k::cli {
namespace {

template <class AnyTrainer>
int run(AnyTrainer& trainer) {
    InterruptGuard guard;
    // The signal handler only sets a flag; this watcher turns it into cancel() (which the
    // trainer checks after every step) and ends with the run.
    std::atomic<bool> finished{false};
    std::thread watcher([&] {
        while (!finished) {
            if (InterruptGuard::requested()) {
                trainer.cancel();
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
    struct Join {
        std::atomic<bool>& finished;
        std::thread& watcher;
        ~Join() {
            finished = true;
            watcher.join();
        }
    } join{finished, watcher};
    const auto r = trainer.run();
    // A rank stopped because another rank got the signal exits as if it had got SIGINT.
    const int interrupted_code = 128 + (InterruptGuard::signal_number() ? InterruptGuard::signal_number() : SIGINT);
    if (training_job_info().rank != 0) return r.cancelled ? interrupted_code : kExitOk;
    if (r.ranks > 1)
        std::printf("%d ranks: %.1f%% of the time exchanging gradients (%.1f s), %.1f%% waiting for the slowest rank "
                    "(%.1f s)\n",
                    r.ranks, r.seconds > 0 ? 100 * r.communication_seconds / r.seconds : 0.0, r.communication_seconds,
                    r.seconds > 0 ? 100 * r.waiting_seconds / r.seconds : 0.0, r.waiting_seconds);
    std::printf("trained %lld iterations (to iteration %lld) in %.1f s (%.1f images/s), avg loss %.4f -> %s\n",
                (long long)r.iterations_this_run, (long long)r.iterations, r.seconds, r.images_per_second,
                r.final_average_loss, r.final_weights.c_str());
    if (!r.cancelled) return kExitOk;
    std::printf("interrupted: saved %s at iteration %lld; continue with the same command and --resume\n",
                r.final_weights.c_str(), (long long)r.iterations);
    return interrupted_code;
}

}  // namespace

int run_training(Trainer& trainer) { return run(trainer); }
int run_training(ClassifierTrainer& trainer) { return run(trainer); }

}  // namespace yolo9k::cli

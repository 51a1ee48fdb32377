// Data-parallel training over MPI (src/distributed/): how a step is split among ranks, and
// end to end on loopback: 2 ranks equal one process with twice the subdivisions, a
// checkpoint resumes on another rank count, a killed or stopped rank ends the job in bounded
// time with the checkpoint intact, and an unreadable image on one rank is named and replaced.
// The end-to-end tests need Open MPI (scripts/setup.sh installs it); under CI=true its
// absence fails them.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>


#include "core/error.h"
#include "data/loader.h"
#include "network/network.h"
#include "support/test_support.h"
#include "support/training_fixtures.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"
#include "train/training_run.h"
#include "yolo9k/distributed.h"

namespace yolo9k {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Under AddressSanitizer (scripts/sanitize.sh), the ranks keep ASan and UBSan but not
// LeakSanitizer: Open MPI leaves its allocations at MPI_Finalize, many from MCA components it
// has already unloaded, whose stacks LSan reports as "<unknown module>" and no suppression by
// library can name. (The process-of-one path stays leak-checked in sanitize.sh's train run.)
void without_leak_checks_in_ranks() {
    if (!test::kSanitized) return;
    const char* asan = std::getenv("ASAN_OPTIONS");
    setenv("ASAN_OPTIONS", ((asan ? std::string(asan) + ":" : std::string()) + "detect_leaks=0").c_str(), 1);
}

#define REQUIRE_MPI()                                                                           \
    do {                                                                                        \
        if (!built_with_mpi()) {                                                                \
            if (::yolo9k::test::running_in_ci()) FAIL() << "built without MPI under CI=true"; \
            GTEST_SKIP() << "built without MPI (install libopenmpi-dev)";                        \
        }                                                                                       \
        without_leak_checks_in_ranks();                                                         \
    } while (0)

// mpirun on loopback, as CI runs it (root allowed, more ranks than cores allowed).
std::string mpirun(int ranks) {
    return mpi_launcher_path() + " -np " + std::to_string(ranks) +
           " --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader,tcp --mca btl_tcp_if_include lo"
           " --mca oob_tcp_if_include lo " + YOLO9K_CLI_PATH + " ";
}

// Largest |a - b| over every parameter and running statistic of two weights files.
float max_weight_difference(const std::string& cfg, const std::string& a, const std::string& b) {
    Network na = Network::from_cfg_file(cfg), nb = Network::from_cfg_file(cfg);
    na.load_weights(a);
    nb.load_weights(b);
    EXPECT_EQ(na.header().seen, nb.header().seen) << a << " vs " << b;
    float worst = 0;
    for (int i = 0; i < na.size(); ++i) {
        const auto ba = na.layer(i).weight_blobs(), bb = nb.layer(i).weight_blobs();
        for (size_t k = 0; k < ba.size(); ++k)
            worst = std::max(worst, test::max_abs_diff(ba[k].data->data(), bb[k].data->data(), ba[k].data->size()));
    }
    return worst;
}

// Trains with the CLI arguments `one` (backup dir/one) and the command line `two` (backup
// dir/two, emptied first), both from <name>.cfg; the largest weight difference of their
// _final weights (a failed run fails the test and returns infinity).
float train_both(const test::TempDir& dir, const std::string& name, const std::string& one, const std::string& two) {
    fs::remove_all(dir.path() / "two");
    if (!fs::exists(dir.file("one/" + name + "_final.weights"))) {
        const auto r = test::run_cli(one);
        EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    const auto r = test::run_command(two, 300);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    if (::testing::Test::HasFailure()) return std::numeric_limits<float>::infinity();
    return max_weight_difference(dir.file(name + ".cfg"), dir.file("one/" + name + "_final.weights"),
                                 dir.file("two/" + name + "_final.weights"));
}

NetParams params(int batch, int subdivisions) {
    NetParams p;
    p.batch = batch;
    p.subdivisions = subdivisions;
    return p;
}

TEST(Distributed, AStepIsSplitAmongRanksThenIntoPasses) {
    // subdivisions a multiple of the ranks: each rank makes its share of the passes.
    StepLayout l = plan_step(params(64, 4), 1, 2, "x.cfg");
    EXPECT_EQ(l.passes, 2);
    EXPECT_EQ(l.images_per_pass, 16);
    EXPECT_EQ(l.first_image, 32);
    // fewer subdivisions than ranks: one pass each, of batch / ranks.
    l = plan_step(params(64, 1), 3, 4, "x.cfg");
    EXPECT_EQ(l.passes, 1);
    EXPECT_EQ(l.images_per_pass, 16);
    EXPECT_EQ(l.first_image, 48);
    // one process: darknet's subdivisions, unchanged.
    l = plan_step(params(64, 8), 0, 1, "x.cfg");
    EXPECT_EQ(l.passes, 8);
    EXPECT_EQ(l.images_per_pass, 8);
    EXPECT_EQ(l.first_image, 0);
    EXPECT_THROW(plan_step(params(64, 3), 0, 2, "x.cfg"), Error);  // 3 passes among 2 ranks
    try {
        plan_step(params(6, 1), 0, 4, "x.cfg");
        FAIL() << "6 images split into 4 ranks";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("x.cfg: batch (6) cannot be split into 4 ranks"), std::string::npos)
            << e.what();
    }
}

// The loader keys a slot by (step, image within the step): two ranks with one pass each
// draw exactly the images one process draws in its two passes of the same step.
TEST(Distributed, RanksDrawTheImagesOfOneProcesssPasses) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 12);
    const Dataset set = load_dataset(dir.file("train.txt"), {.class_names = {"red", "blue"}});
    LoaderOptions one;
    one.batch = 2;
    one.seed = 9;
    one.size = {64, 64};
    one.quiet = true;
    one.step_slots = {.passes_per_step = 2, .first_image = 0};
    LoaderOptions rank1 = one;
    rank1.step_slots = {.passes_per_step = 1, .first_image = 2};
    const DetectionLoader single(set, one), second_rank(set, rank1);
    for (int step = 0; step < 3; ++step) {
        const DetectionBatch a = single.make_batch(2 * step + 1), b = second_rank.make_batch(step);
        EXPECT_EQ(a.paths, b.paths) << "step " << step;
        EXPECT_EQ(a.images, b.images) << "step " << step;
    }
    // ... and not what the first pass draws (the keys differ).
    EXPECT_NE(single.make_batch(0).images, second_rank.make_batch(0).images);
}

// A data set of shapes, the tiny detector at batch 4: 2 ranks x (2 images, 1 pass) against
// 1 process x (4 images in 2 passes of 2), same seed, 4 steps, one thread per pass on both
// sides (oneDNN's thread count changes its own summation order). The images, the seen
// counts (the region loss's prior pull) and the batch-norm statistics per pass are the same,
// so only the order of float additions differs: the all-reduce sums the two ranks' partial
// gradients where one process accumulates pass after pass, and the merged running
// statistics are computed in another order. Each such rounding is ~1e-7 relative on
// values of order 1, and 4 SGD steps at lr 0.001 cannot amplify it to 1e-5; a different
// image anywhere in a step moves the weights by far more (checked below).
TEST(DistributedCli, TwoRanksEqualOneProcessWithTwoSubdivisions) {
    REQUIRE_MPI();
    test::TempDir dir;
    test::write_shapes_dataset(dir, 16);
    const std::string args = "train --data " + dir.file("shapes.data") + " --cfg " + dir.file("tiny.cfg") +
                             " --batch 4 --subdivisions 2 --max-batches 4 --threads 1 --no-chart -q";
    const std::string one = args + " --seed 5 --backup " + dir.file("one");
    const float same = train_both(dir, "tiny", one, mpirun(2) + args + " --seed 5 --backup " + dir.file("two"));
    const float different = train_both(dir, "tiny", one, YOLO9K_CLI_PATH + (" " + args) + " --seed 6 --backup " +
                                                             dir.file("two"));
    EXPECT_LE(same, 1e-5f);
    EXPECT_GT(different, 1e-3f) << "other images should move the weights far more than rounding";
}

// The classifier, through `--ranks` (which runs mpirun itself).
TEST(DistributedCli, TwoClassifierRanksEqualOneProcessWithTwoSubdivisions) {
    REQUIRE_MPI();
    test::TempDir dir;
    test::write_shapes_classification_set(dir, 5);
    const std::string args = "classifier train --data " + dir.file("shapes") + " --cfg " + dir.file("k.cfg") +
                             " --threads 1 --no-chart -q --seed 4 --backup ";
    EXPECT_LE(train_both(dir, "k", args + dir.file("one"), YOLO9K_CLI_PATH + (" " + args) + dir.file("two") + " --ranks 2"),
              1e-5f);
}

// A checkpoint written by 2 ranks resumes in one process (and one process's on 2 ranks),
// continuing the same images: the result equals one uninterrupted process.
TEST(DistributedCli, ACheckpointResumesOnAnotherRankCount) {
    REQUIRE_MPI();
    test::TempDir dir;
    test::write_shapes_dataset(dir, 16);
    const std::string args = "train --data " + dir.file("shapes.data") + " --cfg " + dir.file("tiny.cfg") +
                             " --batch 4 --subdivisions 2 --max-batches 6 --threads 1 --no-chart -q --seed 7 --backup ";
    const auto straight = test::run_cli(args + dir.file("straight"));
    ASSERT_EQ(straight.exit_code, 0) << straight.err;
    // 2 ranks for 2 steps, 1 process for 2, 2 ranks to the end.
    const std::string mixed = args + dir.file("mixed");
    auto r = test::run_cli(mixed + " --stop-after 2 --ranks 2", 300);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    r = test::run_cli(mixed + " --resume --stop-after 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("to iteration 4"), std::string::npos) << r.out;
    r = test::run_cli(mixed + " --resume --ranks 2", 300);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("trained 2 iterations (to iteration 6)"), std::string::npos) << r.out;
    EXPECT_LE(max_weight_difference(dir.file("tiny.cfg"), dir.file("straight/tiny_final.weights"),
                                    dir.file("mixed/tiny_final.weights")),
              1e-5f);
}

// Rank 0 evaluates (--map-every) while the others wait; a run stopped right after an
// evaluation resumes without evaluating that step again, on every rank alike (only rank 0
// holds the history that says so).
TEST(DistributedCli, EvaluationsRunOnRankZeroAndAResumeAfterOneAgrees) {
    REQUIRE_MPI();
    test::TempDir dir;
    test::write_shapes_dataset(dir, 8);
    const std::string args = "train --data " + dir.file("shapes.data") + " --cfg " + dir.file("tiny.cfg") +
                             " --max-batches 4 --map-every 2 --train-map-images 0 --no-chart --seed 3 --ranks 2";
    auto r = test::run_cli(args + " --stop-after 2", 120);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("2: mAP@.5 "), std::string::npos) << r.out;
    r = test::run_cli(args + " --resume --collective-timeout 60", 120);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.find("2: mAP@.5 "), std::string::npos) << "evaluated step 2 again\n" << r.out;
    EXPECT_NE(r.out.find("4: mAP@.5 "), std::string::npos) << r.out;
}

// The ranks mpirun started (its children), once both are running.
std::vector<pid_t> rank_pids(pid_t launcher) {
    std::ifstream in("/proc/" + std::to_string(launcher) + "/task/" + std::to_string(launcher) + "/children");
    std::vector<pid_t> pids;
    for (pid_t p; in >> p;) pids.push_back(p);
    return pids;
}

// Starts `yolo9k <args>` (with --ranks: mpirun) in the background; output to `log`.
pid_t start_cli(const std::string& args, const std::string& log) {
    const pid_t pid = fork();
    if (pid == 0) {
        const std::string cmd = "exec " + std::string(YOLO9K_CLI_PATH) + " " + args + " >" + log + " 2>&1";
        execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
        _exit(127);
    }
    return pid;
}

// Waits until `path` holds a checkpoint of at least `seen` images (or the deadline).
bool wait_for_checkpoint(const std::string& cfg, const std::string& path, uint64_t seen, int seconds) {
    const auto deadline = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < deadline) {
        if (fs::exists(path)) try {
                Network probe = Network::from_cfg_file(cfg);
                probe.load_weights(path);
                if (probe.header().seen >= seen) return true;
            } catch (const std::exception&) {
            }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

// Waits for `pid` at most `seconds`; returns the seconds it took, or -1 (then kills it).
double wait_bounded(pid_t pid, int seconds, int& status) {
    const auto start = Clock::now();
    while (Clock::now() - start < std::chrono::seconds(seconds)) {
        if (waitpid(pid, &status, WNOHANG) == pid) return std::chrono::duration<double>(Clock::now() - start).count();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

// What a fault test checks after the job ended: the last checkpoint loads whole, and
// --resume (one process here) continues from it.
void expect_checkpoint_resumes(const test::TempDir& dir, const std::string& args) {
    Network net = Network::from_cfg_file(dir.file("tiny.cfg"));
    Optimizer opt(net);
    std::string warning;
    const TrainState st = load_checkpoint(dir.file("backup/tiny_last.weights"), net, opt, 4, warning);
    EXPECT_GE(st.iteration, 2);
    EXPECT_EQ(warning, "");
    const auto r = test::run_cli(args + " --resume --stop-after 1");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("to iteration " + std::to_string(st.iteration + 1)), std::string::npos) << r.out;
}

// A job of 2 ranks training the shapes detector until stopped, checkpointing every 2 steps:
// started (with `extra` options) and run until its first checkpoint at iteration 2.
struct FaultJob {
    test::TempDir dir;
    std::string args;
    pid_t launcher = -1;
    std::vector<pid_t> ranks;

    explicit FaultJob(const std::string& extra) {
        test::write_shapes_dataset(dir, 8);
        args = "train --data " + dir.file("shapes.data") + " --cfg " + dir.file("tiny.cfg") +
               " --max-batches 100000 --checkpoint-every 2 --no-chart -q --seed 3";
        launcher = start_cli(args + " --ranks 2 " + extra, dir.file("log"));
    }
    // Waits for the first checkpoint; true when both ranks are then found.
    bool running() {
        if (!wait_for_checkpoint(dir.file("tiny.cfg"), dir.file("backup/tiny_last.weights"), 8, 120)) return false;
        ranks = rank_pids(launcher);
        return ranks.size() == 2;
    }
    std::string log() const { return test::read_file(dir.file("log")); }
    // Sends `signal` to rank 1; true when the whole job then ends, with a failure status,
    // within 60 s (else it is killed and the test fails).
    bool ends_after(int signal) {
        kill(ranks[1], signal);
        int status = 0;
        const bool ended = wait_bounded(launcher, 60, status) >= 0;
        kill(ranks[1], SIGKILL);  // a stopped rank should be gone already
        EXPECT_TRUE(ended) << "the job did not end within 60 s of signal " << signal << " to a rank\n" << log();
        EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log();
        return ended;
    }
};

TEST(DistributedCli, AKilledRankEndsTheJobAndTheCheckpointResumes) {
    REQUIRE_MPI();
    FaultJob job("");
    ASSERT_TRUE(job.running()) << job.log();
    ASSERT_TRUE(job.ends_after(SIGKILL));
    EXPECT_NE(job.log().find("exited on signal 9"), std::string::npos) << job.log();  // mpirun names the rank
    expect_checkpoint_resumes(job.dir, job.args);
}

// A rank that stops (SIGSTOP: alive, never answering) is not noticed by mpirun: the
// collective timeout ends the job, naming what waited.
TEST(DistributedCli, AStoppedRankEndsTheJobAtTheCollectiveTimeout) {
    REQUIRE_MPI();
    FaultJob job("--collective-timeout 3");
    ASSERT_TRUE(job.running()) << job.log();
    ASSERT_TRUE(job.ends_after(SIGSTOP));
    const std::string log = job.log();
    EXPECT_NE(log.find("rank 0 of 2: "), std::string::npos) << log;
    EXPECT_NE(log.find("has waited 3 s for the other ranks (--collective-timeout)"), std::string::npos) << log;
    EXPECT_NE(log.find("tiny_last.weights; continue with --resume"), std::string::npos) << log;
    expect_checkpoint_resumes(job.dir, job.args);
}

// An unreadable image is handled by the rank that draws it as by one process: named, and
// replaced by another draw; the job finishes.
TEST(DistributedCli, AnUnreadableImageOnOneRankIsNamedAndReplaced) {
    REQUIRE_MPI();
    test::TempDir dir;
    test::write_shapes_dataset(dir, 6);
    test::write_file(dir.file("images/s2.jpg"), "not a jpeg");
    const auto r = test::run_cli("train --ranks 2 --data " + dir.file("shapes.data") + " --cfg " + dir.file("tiny.cfg") +
                                     " --max-batches 6 --no-chart --seed 3",
                                 300);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.err.find("s2.jpg"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::exists(dir.file("backup/tiny_final.weights")));
}

TEST(DistributedCli, ABatchThatCannotBeSplitIsAClearError) {
    REQUIRE_MPI();
    test::TempDir dir;
    test::write_shapes_dataset(dir, 4);
    const auto r = test::run_cli("train --ranks 3 --data " + dir.file("shapes.data") + " --cfg " + dir.file("tiny.cfg") +
                                     " --max-batches 2 --no-chart -q",
                                 120);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("tiny.cfg: batch (4) cannot be split into 3 ranks"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace yolo9k

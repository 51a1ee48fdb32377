// MPI_COMM_WORLD behind the Communicator seam. Collectives are Open MPI's blocking ones (its
// tuned ring / recursive-doubling all-reduce); a watchdog thread ends the job when one has
// waited longer than the timeout, since a rank that is stopped (not dead) is otherwise
// waited for forever: mpirun notices a dead rank, but not a stuck one.
#include "distributed/mpi/mpi_communicator.h"

#include <mpi.h>

#include <chrono>
#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/log.h"

namespace yolo9k {
namespace {

using Clock = std::chrono::steady_clock;

// Ends the job (MPI_Abort) when an armed collective outlives its deadline.
class Watchdog {
public:
    explicit Watchdog(int rank, int size) : rank_(rank), size_(size), thread_([this] { watch(); }) {}
    ~Watchdog() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    void arm(const std::string& what, double timeout_s, const std::string& hint) {
        if (timeout_s <= 0) return;
        std::lock_guard lock(mutex_);
        armed_ = true;
        what_ = what;
        hint_ = hint;
        timeout_s_ = timeout_s;
        deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
        wake_.notify_all();
    }
    void disarm() {
        std::lock_guard lock(mutex_);
        armed_ = false;
    }

private:
    void watch() {
        std::unique_lock lock(mutex_);
        while (!stop_) {
            if (!armed_) {
                wake_.wait(lock);
                continue;
            }
            if (wake_.wait_until(lock, deadline_) == std::cv_status::timeout && armed_ && Clock::now() >= deadline_) {
                log_message(LogLevel::warning,
                            format_text("rank %d of %d: %s has waited %.0f s for the other ranks (--collective-timeout): "
                                        "a rank has died or stopped; ending the job",
                                        rank_, size_, what_.c_str(), timeout_s_) +
                                (hint_.empty() ? "" : ". " + hint_));
                MPI_Abort(MPI_COMM_WORLD, 1);
                std::_Exit(1);  // MPI_Abort does not return; in case it did
            }
        }
    }

    const int rank_, size_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false, armed_ = false;
    std::string what_, hint_;
    double timeout_s_ = 0;
    Clock::time_point deadline_;
    std::thread thread_;
};

class MpiCommunicator final : public Communicator {
public:
    MpiCommunicator() {
        int provided = 0, initialized = 0;
        MPI_Initialized(&initialized);
        owns_mpi_ = !initialized;  // a host program that started MPI also ends it
        if (initialized) MPI_Query_thread(&provided);
        // The watchdog may call MPI_Abort while the training thread is inside a collective.
        else if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
            throw Error("MPI_Init_thread failed: MPI could not start this rank");
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &size_);
        MPI_Comm node;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
        MPI_Comm_size(node, &local_size_);
        MPI_Comm_free(&node);
        if (provided == MPI_THREAD_MULTIPLE) watchdog_.emplace(rank_, size_);
        else if (rank_ == 0)
            log_message(LogLevel::warning, "this MPI does not allow calls from several threads (MPI_THREAD_MULTIPLE): "
                                           "--collective-timeout cannot end a job whose rank stopped");
    }
    ~MpiCommunicator() override {
        watchdog_.reset();
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (owns_mpi_ && !finalized) MPI_Finalize();
    }

    int rank() const override { return rank_; }
    int size() const override { return size_; }
    int local_size() const override { return local_size_; }

    void sum(std::span<float> data, const std::string& what) override { reduce(data.data(), data.size(), MPI_FLOAT, what); }
    void sum(std::span<double> data, const std::string& what) override {
        reduce(data.data(), data.size(), MPI_DOUBLE, what);
    }
    void broadcast(std::span<std::byte> data, int root, const std::string& what) override {
        Timed timed(*this, what);
        for (size_t done = 0; done < data.size();) {
            const int n = int(std::min<size_t>(data.size() - done, kChunk));
            check(MPI_Bcast(data.data() + done, n, MPI_BYTE, root, MPI_COMM_WORLD), what);
            done += size_t(n);
        }
    }
    void barrier(const std::string& what) override {
        Timed timed(*this, what);
        check(MPI_Barrier(MPI_COMM_WORLD), what);
    }
    bool all_succeeded(bool ok) override {
        int value = ok ? 1 : 0;
        MPI_Request request;
        check(MPI_Iallreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD, &request),
              "waiting for rank 0's evaluation");
        for (int done = 0;;) {
            check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "waiting for rank 0's evaluation");
            if (done) return value == 1;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    void abort(int exit_code) override {
        MPI_Abort(MPI_COMM_WORLD, exit_code);
        std::_Exit(exit_code);
    }

private:
    static constexpr size_t kChunk = size_t(1) << 30;  // MPI counts are ints

    struct Timed {
        Timed(MpiCommunicator& c, const std::string& what) : c(c) {
            if (c.watchdog_) c.watchdog_->arm(what, c.timeout(), c.timeout_hint());
        }
        ~Timed() {
            if (c.watchdog_) c.watchdog_->disarm();
        }
        MpiCommunicator& c;
    };

    void reduce(void* data, size_t count, MPI_Datatype type, const std::string& what) {
        Timed timed(*this, what);
        int type_size = 0;
        MPI_Type_size(type, &type_size);
        for (size_t done = 0; done < count;) {
            const int n = int(std::min<size_t>(count - done, kChunk));
            check(MPI_Allreduce(MPI_IN_PLACE, static_cast<char*>(data) + done * size_t(type_size), n, type, MPI_SUM,
                                MPI_COMM_WORLD),
                  what);
            done += size_t(n);
        }
    }

    void check(int code, const std::string& what) const {
        if (code == MPI_SUCCESS) return;
        char text[MPI_MAX_ERROR_STRING];
        int length = 0;
        MPI_Error_string(code, text, &length);
        throw Error(format_text("rank %d of %d: %s failed: %.*s", rank_, size_, what.c_str(), length, text));
    }

    int rank_ = 0, size_ = 1, local_size_ = 1;
    bool owns_mpi_ = true;
    std::optional<Watchdog> watchdog_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

}  // namespace yolo9k

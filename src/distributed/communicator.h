// The processes of one data-parallel training job, and the collectives the trainers need.
// A job of one (no MPI, or a plain `yolo9k train`) makes every collective a no-op, so the
// single-process path runs exactly as before. Under mpirun (and built with Open MPI) it is
// MPI_COMM_WORLD: src/distributed/mpi/.
//
// Collectives that a training step makes are timed: one that has not completed after the
// job's collective timeout means a rank has died or stopped, and the whole job is ended
// (MPI_Abort) with a message naming what waited, rather than left to hang.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "yolo9k/distributed.h"  // started_by_mpi_launcher, built_with_mpi, mpi_launcher_path

namespace yolo9k {

class Communicator {
public:
    virtual ~Communicator() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    // Ranks on this machine (the compute threads of a rank default to cores / local_size).
    virtual int local_size() const = 0;

    // Element-wise sum over all ranks, in place. `what` names the collective in the timeout
    // message ("the gradient all-reduce of iteration 12").
    virtual void sum(std::span<float> data, const std::string& what) = 0;
    virtual void sum(std::span<double> data, const std::string& what) = 0;
    // Every rank receives root's bytes.
    virtual void broadcast(std::span<std::byte> data, int root, const std::string& what) = 0;
    // Waits for every rank (timed, as sum()).
    virtual void barrier(const std::string& what) = 0;
    // True when every rank passes ok = true. Without the timeout, and without spinning: the
    // ranks wait here while rank 0 evaluates, which may take minutes on all the cores.
    virtual bool all_succeeded(bool ok) = 0;
    // Ends every rank of the job with `exit_code` (a rank that failed: the others must not
    // wait for it). Returns only for a job of one.
    virtual void abort(int exit_code) = 0;

    // Seconds a timed collective may wait before the job is ended; <= 0: forever.
    void set_timeout(double seconds) { timeout_s_ = seconds; }
    double timeout() const { return timeout_s_; }
    // Said after the timeout message, e.g. where the last checkpoint is.
    void set_timeout_hint(std::string hint) { timeout_hint_ = std::move(hint); }
    const std::string& timeout_hint() const { return timeout_hint_; }

    template <class T>
    void broadcast_value(T& value, int root, const std::string& what) {
        broadcast(std::as_writable_bytes(std::span<T>(&value, 1)), root, what);
    }

private:
    double timeout_s_ = 300;
    std::string timeout_hint_;
};

// This process's job: MPI's world under mpirun (initialising MPI on first use), else a job
// of one. Throws Error under mpirun when the build has no MPI.
Communicator& training_job();

}  // namespace yolo9k

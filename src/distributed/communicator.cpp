#include "distributed/communicator.h"

#include <atomic>
#include <cstdlib>

#include "core/error.h"
#if YOLO9K_HAVE_MPI
#include "distributed/mpi/mpi_communicator.h"
#endif

namespace yolo9k {
namespace {

// The job of one process: every collective leaves the data as it is.
class SingleProcess final : public Communicator {
public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    int local_size() const override { return 1; }
    void sum(std::span<float>, const std::string&) override {}
    void sum(std::span<double>, const std::string&) override {}
    void broadcast(std::span<std::byte>, int, const std::string&) override {}
    void barrier(const std::string&) override {}
    bool all_succeeded(bool ok) override { return ok; }
    void abort(int) override {}
};

}  // namespace

bool started_by_mpi_launcher() {
    // Open MPI's mpirun (the launcher this build supports) sets it for every rank.
    return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr;
}

bool built_with_mpi() { return YOLO9K_HAVE_MPI != 0; }

std::string mpi_launcher_path() { return YOLO9K_MPI_LAUNCHER; }

namespace {
std::atomic<Communicator*> started_job{nullptr};  // set once training_job() has succeeded
}

Communicator& training_job() {
    static const std::unique_ptr<Communicator> job = []() -> std::unique_ptr<Communicator> {
        if (!started_by_mpi_launcher()) return std::make_unique<SingleProcess>();
#if YOLO9K_HAVE_MPI
        return make_mpi_communicator();
#else
        throw Error("this process was started by an MPI launcher, but this yolo9k was built without MPI: install "
                    "libopenmpi-dev and openmpi-bin (scripts/setup.sh does) and build again");
#endif
    }();
    started_job = job.get();
    return *job;
}

TrainingJobInfo training_job_info() {
    Communicator& job = training_job();
    return {job.rank(), job.size()};
}

void abort_training_job(int exit_code) {
    // Only a job that started (never starting MPI here: that may be what failed).
    if (Communicator* job = started_job.load(); job && job->size() > 1) job->abort(exit_code);
}

}  // namespace yolo9k

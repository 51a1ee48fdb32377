#include "distributed/communicator.h"

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
    void barrier_untimed() override {}
    void abort(int) override {}
};

}  // namespace

bool started_by_mpi_launcher() {
    // Open MPI's mpirun sets the first; other launchers (srun with PMIx, MPICH's hydra) the others.
    return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_RANK");
}

bool built_with_mpi() { return YOLO9K_HAVE_MPI != 0; }

std::string mpi_launcher_path() { return YOLO9K_MPI_LAUNCHER; }

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
    return *job;
}

TrainingJobInfo training_job_info() {
    Communicator& job = training_job();
    return {job.rank(), job.size()};
}

void abort_training_job(int exit_code) {
    if (!started_by_mpi_launcher()) return;
    Communicator& job = training_job();
    if (job.size() > 1) job.abort(exit_code);
}

}  // namespace yolo9k

// Data-parallel training over MPI: `mpirun -np N yolo9k train ...` (or `yolo9k train
// --ranks N`) trains one model on N processes, each computing batch/N images of every step,
// with the gradients summed by MPI_Allreduce (see the README's "Training on several
// processes and machines"). A Trainer started under mpirun joins the job by itself; this
// header says where the process stands and lets a program end the whole job on an error.
#pragma once

#include <string>

namespace yolo9k {

// True when this process was started by an MPI launcher (mpirun).
bool started_by_mpi_launcher();
// True when this build links Open MPI (else, under mpirun, training says so and stops).
bool built_with_mpi();
// The mpirun this build found ("" without MPI): what `--ranks` runs.
std::string mpi_launcher_path();

struct TrainingJobInfo {
    int rank = 0, ranks = 1;
};
// This process's rank and the job's size (rank 0 of 1 outside mpirun). Starts MPI on the
// first call under mpirun; throws yolo9k::Error there when the build has no MPI.
TrainingJobInfo training_job_info();

// Ends every rank of a data-parallel job with `exit_code` (MPI_Abort), so that the other
// ranks do not wait for one that failed: a program that catches a Trainer's exception under
// mpirun calls it. Does nothing outside a started job of several ranks.
void abort_training_job(int exit_code);

}  // namespace yolo9k

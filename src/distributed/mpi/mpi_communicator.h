// Communicator over MPI_COMM_WORLD (Open MPI), built only when CMake finds MPI.
#pragma once

#include <memory>

#include "distributed/communicator.h"

namespace yolo9k {

// Initialises MPI (once per process; finalised at exit). Throws Error if MPI cannot start.
std::unique_ptr<Communicator> make_mpi_communicator();

}  // namespace yolo9k

// The int8 calibration file (`yolo9k calibrate`'s text: header, weights fingerprint, method,
// one line per layer) read and checked against the fixed small network. Path-only API: the
// input is written to scratch/model.calib.
//
// YOLO9K_FUZZ_WRITE_SEEDS=DIR: write valid seed files to DIR and exit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_support.h"
#include "network/initialize.h"
#include "quantize/calibration.h"
#include "small_net.h"

using namespace yolo9k;
using yolo9k_fuzz::expect_errors;

namespace {

Network calibrated_net() {
    Network net = yolo9k_fuzz::small_net();
    initialize_weights(net, 1);
    return net;
}

void write_seeds(const std::string& dir) {
    Network net = calibrated_net();
    for (CalibrationMethod m : {CalibrationMethod::minmax, CalibrationMethod::percentile}) {
        const Calibration c = calibrate_network(
            net, 2,
            [&](int k, float* dst) {
                for (size_t i = 0; i < net.input_shape().size(); ++i) dst[i] = float((i * 7 + size_t(k)) % 11) / 10.f;
            },
            m, 99.5);
        save_calibration(c, dir + "/" + calibration_method_name(m) + ".calib");
    }
    std::exit(0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* dir = std::getenv("YOLO9K_FUZZ_WRITE_SEEDS")) write_seeds(dir);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Network net = calibrated_net();
    const std::string path = yolo9k_fuzz::write_scratch("model.calib", data, size);
    expect_errors([&] { (void)check_calibration(load_calibration(path), net, path); });
    return 0;
}

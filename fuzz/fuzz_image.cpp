// Image decoding through our reader (decode_image: format sniffing, the JPEG end check,
// header dimensions against limits().max_image_pixels, OpenCV's imdecode, BGR conversion).
// OpenCV's codecs are not instrumented: coverage is our code's, crashes are anyone's.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <opencv2/core.hpp>

#include "fuzz_support.h"
#include "io/image_reader.h"

using namespace yolo9k;
using yolo9k_fuzz::expect_errors;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    cv::setNumThreads(1);  // one process, one core: keep OpenCV's pool out of it
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::vector<std::uint8_t> bytes(data, data + size);
    expect_errors([&] {
        const cv::Mat img = decode_image(bytes, "fuzz-image");
        if (img.type() != CV_8UC3 || img.empty()) std::abort();  // the documented result
    });
    return 0;
}

// What every yolo9k function throws for input it cannot use (a bad cfg, weights file,
// image, dataset or option): the message names the file (and line or byte offset) and
// what was expected, so a program can show it as it is.
#pragma once

#include <stdexcept>

namespace yolo9k {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// An image whose header claims more pixels than limits().max_image_pixels (a server answers
// it with 413 rather than 400).
class ImageTooLarge : public Error {
public:
    using Error::Error;
};

}  // namespace yolo9k

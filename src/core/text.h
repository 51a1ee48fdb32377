// Small text helpers the file readers share.
#pragma once

#include <string>

namespace yolo9k {

// s without leading and trailing blanks (space, tab, CR, LF): list and key=value lines
// written on any platform.
std::string trim(const std::string& s);

}  // namespace yolo9k

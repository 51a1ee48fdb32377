// The page `yolo9k serve` answers at GET /: pick a model and a threshold, drop or choose an
// image, and see the boxes drawn over it with the JSON reply beside it. One self-contained
// HTML document (inline CSS and JS, no external resources), so the binary needs no build step
// and no files beside it.
#pragma once

#include <string_view>

namespace yolo9k::serve {

std::string_view web_page_html();

}  // namespace yolo9k::serve

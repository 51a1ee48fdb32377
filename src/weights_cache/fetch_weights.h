// Downloads one of darknet's published weights files into the cache: resumable (.part +
// HTTP Range), checked against its cfg by the weights reader, then renamed into place.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "weights_cache/published_weights.h"

namespace yolo9k {

struct FetchProgress {
    uint64_t bytes = 0;         // in the .part file so far, resumed bytes included
    uint64_t total = 0;         // the whole file's size; 0 while unknown
    uint64_t resumed_from = 0;  // bytes already there when this transfer started
    double seconds = 0;         // since this transfer started
};

struct FetchOptions {
    std::string base_url;  // empty: weights_base_url()
    std::string home;      // empty: yolo9k_home()
    bool force = false;    // fetch again even when a valid copy is cached (and drop any .part)
    // A dead host fails after connect_timeout_s; a stalled transfer after staying below
    // low_speed_bytes_per_s for low_speed_seconds. No overall limit: the files are large.
    long connect_timeout_s = 20;
    long low_speed_bytes_per_s = 1024;
    long low_speed_seconds = 60;
    std::function<void(const FetchProgress&)> on_progress;  // a few times a second, and once at the end
};

struct FetchResult {
    std::string path;             // the cached file
    std::string url;              // where it came from (or would have)
    bool already_cached = false;  // a valid copy was there; nothing was downloaded
    uint64_t bytes = 0;           // the file's size
    uint64_t downloaded = 0;      // bytes transferred by this call
    double seconds = 0;           // the transfer's duration (without the check)
    uint64_t resumed_from = 0;    // > 0: continued a .part an earlier run left
    bool range_ignored = false;   // asked to resume, the server sent the whole file (HTTP 200)
    std::string replaced;         // why a cached copy was fetched again (it failed the check)
};

// Throws Error on any failure, naming the URL and what went wrong. A transfer that broke
// off keeps its .part, so that calling again resumes; a file that fails the check is deleted.
FetchResult fetch_published_weights(const PublishedWeights& w, const FetchOptions& options = {});

}  // namespace yolo9k

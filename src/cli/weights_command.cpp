// `yolo9k weights get|list|path`: darknet's published weights, downloaded into a local
// cache ($YOLO9K_HOME/weights) and checked against their cfgs.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <set>

#include "cli/commands.h"
#include "weights_cache/fetch_weights.h"
#include "yolo9k/error.h"

namespace yolo9k::cli {
namespace {

namespace fs = std::filesystem;

std::string megabytes(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MB", double(bytes) / 1e6);
    return buf;
}

std::string rate(double bytes_per_s) {
    char buf[32];
    if (bytes_per_s >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB/s", bytes_per_s / 1e6);
    else std::snprintf(buf, sizeof buf, "%.0f kB/s", bytes_per_s / 1e3);
    return buf;
}

std::string duration(double seconds) {
    const long s = long(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", s);
    return s < 60 ? buf : duration(s);
}

// Shows a download's progress on stderr: a bar redrawn in place on a terminal; elsewhere
// (logs, CI) a plain line every few seconds, since `\r` redraws would pile up there.
class ProgressDisplay {
public:
    ProgressDisplay(std::string name, std::string url) : name_(std::move(name)), url_(std::move(url)), tty_(::isatty(2)) {}

    void operator()(const FetchProgress& p) {
        if (!announced_) {
            std::cerr << name_ << ": downloading " << url_;
            if (p.resumed_from) std::cerr << ", resuming at " << megabytes(p.resumed_from);
            std::cerr << "\n";
            announced_ = true;
        }
        const bool complete = p.total > 0 && p.bytes == p.total;
        if (tty_) {
            std::cerr << "\r" << describe(p) << "\033[K" << std::flush;
            drawn_ = true;
        } else if (p.seconds - last_line_s_ >= kLineEverySeconds || (complete && !complete_shown_)) {
            std::cerr << describe(p) << "\n";
            last_line_s_ = p.seconds;
            complete_shown_ = complete;
        }
    }
    // Ends the redrawn line before anything else is printed.
    void finish() {
        if (drawn_) std::cerr << "\n";
        drawn_ = false;
    }

private:
    static constexpr double kLineEverySeconds = 10;

    std::string describe(const FetchProgress& p) const {
        const double speed = p.seconds > 0 ? double(p.bytes - p.resumed_from) / p.seconds : 0;
        std::string line = name_ + "  ";
        if (p.total > 0) {
            constexpr int kWidth = 24;
            const double fraction = std::min(1.0, double(p.bytes) / double(p.total));
            const int filled = int(fraction * kWidth);
            char percent[16];
            std::snprintf(percent, sizeof percent, "%3d%%", int(fraction * 100));
            line += "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] " + percent + "  " +
                    megabytes(p.bytes) + " of " + megabytes(p.total);
        } else {
            line += megabytes(p.bytes);
        }
        line += "  " + rate(speed);
        if (p.total > p.bytes && speed > 0) line += "  ETA " + duration(double(p.total - p.bytes) / speed);
        return line;
    }

    std::string name_, url_;
    bool tty_, announced_ = false, drawn_ = false, complete_shown_ = false;
    double last_line_s_ = 0;
};

struct GetOptions {
    std::vector<std::string> names;
    std::string base_url;
    bool force = false;
};

int run_get(const GetOptions& o) {
    int failures = 0;
    std::set<std::string> seen;
    for (const auto& name : o.names) {
        if (!seen.insert(name).second) continue;
        const PublishedWeights& w = *find_published_weights(name);  // the parser checked the name
        ProgressDisplay display(w.name, weights_base_url(o.base_url) + "/" + w.file);
        try {
            const FetchResult r =
                fetch_published_weights(w, {.base_url = o.base_url, .force = o.force, .on_progress = std::ref(display)});
            display.finish();
            if (r.already_cached) {
                std::cout << w.name << ": already cached and valid: " << r.path << " (--force fetches it again)\n";
                continue;
            }
            if (!r.replaced.empty()) std::cerr << w.name << ": the cached copy failed the check, so it was fetched again: " << r.replaced << "\n";
            if (r.range_ignored)
                std::cerr << w.name << ": the server ignored the resume request (HTTP 200, not 206): fetched the whole file\n";
            std::cout << w.name << ": " << megabytes(r.downloaded) << " in " << seconds(r.seconds) << " ("
                      << rate(r.seconds > 0 ? double(r.downloaded) / r.seconds : 0) << ")";
            if (r.resumed_from) std::cout << ", resumed at " << megabytes(r.resumed_from);
            std::cout << "; matches " << w.cfg;
            if (w.layers) std::cout << " (first " << w.layers << " layers)";
            std::cout << ": " << r.path << "\n";
        } catch (const Error& e) {
            display.finish();
            std::cerr << "yolo9k: error: " << e.what() << "\n";
            ++failures;
        }
    }
    return failures ? kExitFailure : kExitOk;
}

int run_list() {
    const std::string home = yolo9k_home();
    std::printf("%-22s %-8s %-10s %s\n", "name", "cached", "size", "path");
    for (const auto& w : published_weights()) {
        const std::string path = cached_weights_path(w, home), part = path + kPartSuffix;
        std::error_code ec;
        std::string state = "no", size, shown = path;
        if (fs::is_regular_file(path, ec)) {
            state = "yes";
            size = megabytes(fs::file_size(path, ec));
        } else if (fs::is_regular_file(part, ec)) {
            state = "partial";  // `weights get` resumes it
            size = megabytes(fs::file_size(part, ec));
            shown = part;
        }
        std::printf("%-22s %-8s %-10s %s\n", w.name.c_str(), state.c_str(), size.c_str(), shown.c_str());
    }
    return kExitOk;
}

int run_path(const std::string& name) {
    const PublishedWeights& w = *find_published_weights(name);
    const std::string path = cached_weights_path(w, yolo9k_home());
    if (!fs::is_regular_file(path))
        throw Error(w.name + ": not downloaded yet (no " + path + "); get it with `yolo9k weights get " + w.name + "`");
    std::cout << path << "\n";
    return kExitOk;
}

}  // namespace

Action add_weights_command(CLI::App& app) {
    CLI::App* sub = app.add_subcommand("weights", "Download darknet's published weights into a local cache");
    sub->require_subcommand(1);
    sub->footer("The cache is $YOLO9K_HOME/weights (default ~/.cache/yolo9k/weights). Names: " + published_weights_names() +
                ".");
    std::vector<std::string> names;
    for (const auto& w : published_weights()) names.push_back(w.name);

    auto get = std::make_shared<GetOptions>();
    CLI::App* g = sub->add_subcommand("get", "Download weights, resuming an interrupted download, and check them against their cfg");
    g->add_option("names", get->names, "names of darknet's published weights")
        ->required()
        ->check(CLI::IsMember(names));
    g->add_option("--base-url", get->base_url,
                  "download from this URL instead of $YOLO9K_WEIGHTS_URL or " + std::string(kDarknetWeightsUrl) +
                      " (a mirror holding the same file names)");
    g->add_flag("--force", get->force, "download again even when a valid copy is cached");

    sub->add_subcommand("list", "Each published name: whether it is cached, its size and path");

    auto path_name = std::make_shared<std::string>();
    CLI::App* p = sub->add_subcommand("path", "Print the cached file's path (exit 1 when it is not downloaded)");
    p->add_option("name", *path_name, "published weights name")->required()->check(CLI::IsMember(names));

    return [=] {
        if (g->parsed()) return run_get(*get);
        if (p->parsed()) return run_path(*path_name);
        return run_list();
    };
}

}  // namespace yolo9k::cli

#include "weights_cache/fetch_weights.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>

#include "core/atomic_file.h"
#include "core/error.h"

namespace yolo9k {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kMirrorHint = "a mirror can be given with --base-url URL or YOLO9K_WEIGHTS_URL";

// The unfinished download. Held open and locked from the first byte to the rename, so that
// two runs fetching the same file cannot interleave their writes.
class PartFile {
public:
    explicit PartFile(std::string path) : path_(std::move(path)) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) throw Error(path_ + ": cannot open for writing: " + std::strerror(errno));
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd_);
            throw Error(path_ + ": another yolo9k is downloading this file right now");
        }
        const off_t end = ::lseek(fd_, 0, SEEK_END);
        if (end < 0) {
            ::close(fd_);
            throw Error(path_ + ": cannot seek: " + std::strerror(errno));
        }
        size_ = uint64_t(end);
    }
    ~PartFile() { ::close(fd_); }
    PartFile(const PartFile&) = delete;
    PartFile& operator=(const PartFile&) = delete;

    const std::string& path() const { return path_; }
    uint64_t size() const { return size_; }

    // These two run inside libcurl's callbacks, which must not throw: false sets `error`.
    bool append(const char* data, size_t n, std::string& error) {
        while (n > 0) {
            const ssize_t written = ::write(fd_, data, n);
            if (written < 0) {
                if (errno == EINTR) continue;
                error = path_ + ": write failed: " + std::strerror(errno) + " (disk full?)";
                return false;
            }
            data += written;
            n -= size_t(written);
            size_ += uint64_t(written);
        }
        return true;
    }
    bool truncate(std::string& error) {
        if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) {
            error = path_ + ": cannot truncate: " + std::strerror(errno);
            return false;
        }
        size_ = 0;
        return true;
    }
    void truncate() {
        std::string error;
        if (!truncate(error)) throw Error(error);
    }
    void sync() {
        if (::fsync(fd_) != 0) throw Error(path_ + ": flush to disk failed: " + std::strerror(errno));
    }
    void remove() {
        std::error_code ec;
        fs::remove(path_, ec);
    }

private:
    std::string path_;
    int fd_ = -1;
    uint64_t size_ = 0;
};

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && ::strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

// One HTTP request's state, shared with libcurl's callbacks.
struct Transfer {
    CURL* curl = nullptr;
    PartFile* part = nullptr;
    uint64_t offset = 0;  // bytes in the .part when the request went out (the Range start)
    std::optional<uint64_t> total;  // the whole file's size, once the response tells
    std::optional<uint64_t> range_start, range_total;  // the current response's Content-Range
    bool body_started = false, range_ignored = false;
    std::string error;  // why a callback stopped the transfer
    std::exception_ptr progress_exception;
    const std::function<void(const FetchProgress&)>* on_progress = nullptr;
    Clock::time_point started = Clock::now(), finished, last_report;

    uint64_t received() const { return part->size() - offset; }

    // The first body bytes: now the status and headers are known.
    bool begin_body() {
        long status = 0;
        curl_off_t length = -1;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        if (offset > 0 && status == 206) {
            if (range_start != offset) {
                error = "asked to resume at byte " + std::to_string(offset) + ", the server sent bytes from " +
                        (range_start ? std::to_string(*range_start) : std::string("an unknown offset"));
                return false;
            }
            if (range_total) total = *range_total;
            else if (length >= 0) total = offset + uint64_t(length);
            return true;
        }
        if (offset > 0) {  // a 200: the server ignored the Range request and sends the whole file
            if (!part->truncate(error)) return false;
            offset = 0;
            range_ignored = true;
        }
        if (length >= 0) total = uint64_t(length);
        return true;
    }

    void report(bool final) {
        if (!on_progress || !*on_progress) return;
        const auto now = Clock::now();
        if (!final && now - last_report < std::chrono::milliseconds(100)) return;
        last_report = now;
        (*on_progress)({part->size(), total.value_or(0), offset, std::chrono::duration<double>(now - started).count()});
    }
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const std::string line(data, size * count);
    if (starts_with_nocase(line, "HTTP/")) {  // a new response (after a redirect)
        t.range_start.reset();
        t.range_total.reset();
    } else if (starts_with_nocase(line, "content-range:")) {
        unsigned long long first = 0, last = 0, total = 0;
        const int got = std::sscanf(line.c_str() + 14, " bytes %llu-%llu/%llu", &first, &last, &total);
        if (got >= 2) t.range_start = first;
        if (got == 3) t.range_total = total;
    }
    return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    if (!t.body_started) {
        t.body_started = true;
        if (!t.begin_body()) return 0;  // anything but `count` makes libcurl stop with CURLE_WRITE_ERROR
    }
    return t.part->append(data, size * count, t.error) ? size * count : 0;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto& t = *static_cast<Transfer*>(user);
    try {
        t.report(false);
        return 0;
    } catch (...) {  // rethrown after curl_easy_perform returns
        t.progress_exception = std::current_exception();
        return 1;
    }
}

void init_curl_once() {
    static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) throw Error(std::string("libcurl initialisation failed: ") + curl_easy_strerror(rc));
}

struct CurlResult {
    CURLcode code = CURLE_OK;
    long status = 0;      // the HTTP status, for CURLE_HTTP_RETURNED_ERROR
    std::string message;  // libcurl's words for the failure
};

CurlResult perform(Transfer& t, const std::string& url, const FetchOptions& o) {
    init_curl_once();
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle(curl_easy_init(), curl_easy_cleanup);
    if (!handle) throw Error("libcurl: cannot create a transfer handle");
    CURL* c = handle.get();
    t.curl = c;
    char errors[CURL_ERROR_SIZE] = {};
    const std::string range = std::to_string(t.offset) + "-";
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errors);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: we may be one thread of many
    curl_easy_setopt(c, CURLOPT_USERAGENT, "yolo9k/0.1");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);  // 4xx/5xx: an error, and no error page in the .part
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o.connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, o.low_speed_bytes_per_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o.low_speed_seconds);
    // CURLOPT_RANGE rather than CURLOPT_RESUME_FROM: libcurl then leaves a 200 reply to us
    // (begin_body restarts the file) instead of failing the transfer.
    if (t.offset > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    t.started = Clock::now();

    CurlResult r;
    r.code = curl_easy_perform(c);
    t.finished = Clock::now();
    if (t.progress_exception) std::rethrow_exception(t.progress_exception);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    r.message = errors[0] ? errors : curl_easy_strerror(r.code);
    t.curl = nullptr;
    return r;
}

bool is_connection_failure(CURLcode code) {
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        return true;
    default:
        return false;
    }
}

// The message for a transfer that did not complete. Keeps a .part with bytes in it.
Error transfer_error(const Transfer& t, const CurlResult& r, const std::string& url, PartFile& part) {
    const bool kept = part.size() > 0;
    if (!kept) part.remove();
    const std::string resume = kept ? "; kept " + part.path() + " (" + std::to_string(part.size()) +
                                          " bytes): run the same command again to resume"
                                    : "";
    if (!t.error.empty()) return Error(url + ": " + t.error + resume);
    if (r.code == CURLE_HTTP_RETURNED_ERROR) {
        std::string what = url + ": the server answered HTTP " + std::to_string(r.status);
        if (r.status == 404) what += " (not found)";
        return Error(what + resume);
    }
    if (t.body_started && t.total)
        return Error(url + ": the transfer broke off after " + std::to_string(part.size()) + " of " +
                     std::to_string(*t.total) + " bytes (Content-Length): " + r.message + resume);
    if (t.body_started) return Error(url + ": the transfer broke off after " + std::to_string(part.size()) + " bytes: " + r.message + resume);
    if (is_connection_failure(r.code))
        return Error("cannot download " + url + ": " + r.message + " (no network? " + kMirrorHint + ")" + resume);
    return Error("cannot download " + url + ": " + r.message + resume);
}

}  // namespace

FetchResult fetch_published_weights(const PublishedWeights& w, const FetchOptions& o) {
    FetchResult result;
    result.path = cached_weights_path(w, o.home.empty() ? yolo9k_home() : o.home);
    result.url = weights_base_url(o.base_url) + "/" + w.file;
    // Without the cfg the download could not be checked: say so before fetching 200 MB.
    if (!fs::is_regular_file(w.cfg))
        throw Error(w.cfg + ": no such cfg file, needed to check " + w.file + " (install Debian's darknet package)");
    if (!o.force && fs::exists(result.path)) {
        try {
            check_weights_file(w, result.path);
            result.already_cached = true;
            result.bytes = fs::file_size(result.path);
            return result;
        } catch (const Error& e) {
            result.replaced = e.what();
        }
    }
    std::error_code ec;
    fs::create_directories(fs::path(result.path).parent_path(), ec);
    if (ec) throw Error(fs::path(result.path).parent_path().string() + ": cannot create the cache directory: " + ec.message());

    PartFile part(result.path + kPartSuffix);
    if (o.force) part.truncate();
    for (bool retried = false;; retried = true) {
        Transfer t;
        t.part = &part;
        t.offset = part.size();
        t.on_progress = &o.on_progress;
        const CurlResult r = perform(t, result.url, o);
        // 416 to a resume: the .part may already be whole (a run stopped before the check).
        const bool maybe_whole = r.code == CURLE_HTTP_RETURNED_ERROR && r.status == 416 && t.offset > 0;
        if (r.code != CURLE_OK && !maybe_whole) throw transfer_error(t, r, result.url, part);
        if (t.total && part.size() != *t.total)
            throw transfer_error(t, {CURLE_PARTIAL_FILE, r.status, "fewer bytes than announced"}, result.url, part);
        t.report(true);
        part.sync();
        try {
            check_weights_file(w, part.path());
        } catch (const Error& e) {
            if (maybe_whole && !retried) {  // not whole after all: fetch it from the start
                part.truncate();
                continue;
            }
            part.remove();
            throw Error(w.name + ": " + result.url + " does not hold the weights " + w.cfg + " expects: " + e.what() +
                        " (deleted the download)");
        }
        rename_durably(part.path(), result.path);
        result.bytes = fs::file_size(result.path);
        result.downloaded = t.received();
        result.seconds = std::chrono::duration<double>(t.finished - t.started).count();
        result.resumed_from = t.offset;
        result.range_ignored = t.range_ignored;
        return result;
    }
}

}  // namespace yolo9k

#include "core/log.h"

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace yolo9k {
namespace {
std::mutex& sink_mutex() {
    static std::mutex m;
    return m;
}
LogSink& current_sink() {
    static LogSink s;
    return s;
}
}  // namespace

LogSink set_log_sink(LogSink sink) {
    std::lock_guard lock(sink_mutex());
    std::swap(current_sink(), sink);
    return sink;
}

void log_message(LogLevel level, const std::string& message) {
    std::lock_guard lock(sink_mutex());
    if (current_sink()) current_sink()(level, message);
}

std::string format_text(const char* format, ...) {
    va_list args;
    va_start(args, format);
    va_list copy;
    va_copy(copy, args);
    const int n = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    std::string out(n > 0 ? size_t(n) : 0, '\0');
    if (n > 0) std::vsnprintf(out.data(), out.size() + 1, format, args);
    va_end(args);
    return out;
}

}  // namespace yolo9k

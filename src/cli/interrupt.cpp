#include "cli/interrupt.h"

#include <atomic>
#include <csignal>
#include <cstring>

#include <unistd.h>

namespace yolo9k::cli {

namespace {

std::atomic<int> g_signal{0};
struct sigaction g_old_int, g_old_term;

// Async-signal-safe: an atomic store, write(2), and on the second signal the default action.
void on_signal(int sig) {
    int expected = 0;
    if (g_signal.compare_exchange_strong(expected, sig)) {
        const char msg[] = "\nyolo9k: stopping after this step and saving the checkpoint (again to quit now)\n";
        [[maybe_unused]] const ssize_t n = write(2, msg, sizeof msg - 1);
        return;
    }
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

}  // namespace

InterruptGuard::InterruptGuard() {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;  // reads and waits in other threads carry on
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
}

InterruptGuard::~InterruptGuard() {
    sigaction(SIGINT, &g_old_int, nullptr);
    sigaction(SIGTERM, &g_old_term, nullptr);
}

bool InterruptGuard::requested() { return g_signal.load() != 0; }
int InterruptGuard::signal_number() { return g_signal.load(); }

}  // namespace yolo9k::cli

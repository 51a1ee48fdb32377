// Ctrl-C and SIGTERM for long-running commands: the first asks the run to stop at the end of
// the current step (it saves and exits), a second ends the process at once.
#pragma once

namespace yolo9k::cli {

class InterruptGuard {
public:
    InterruptGuard();   // installs the handlers
    ~InterruptGuard();  // restores the previous ones
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

    static bool requested();
    static int signal_number();  // the first signal received (0: none)
};

}  // namespace yolo9k::cli

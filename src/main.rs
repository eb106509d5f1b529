//! The `auditlog` command: a thin layer over the library (see `src/cli/`).

mod cli;

fn main() -> std::process::ExitCode {
    die_quietly_on_closed_pipe();
    cli::run()
}

/// Makes a write to a closed pipe end the process by SIGPIPE, as it does for `cat` or `grep`,
/// instead of the Rust default (SIGPIPE ignored, so the write fails with EPIPE and every
/// `println!` panics with a backtrace: `auditlog verify DIR | head`).
///
/// One place for every command and every write, stdout and stderr, `println!` or not, clap's
/// help included, rather than an EPIPE check at each print that the next command forgets. The
/// shell sees exit status 141 (128 + SIGPIPE), which `set -o pipefail` scripts know as
/// "the reader went away". Dying mid-command is safe: the log survives `kill -9` at any
/// point by design, and an acknowledged record is durable before anything about it is printed.
#[allow(unsafe_code)]
fn die_quietly_on_closed_pipe() {
    // SAFETY: called first in `main`, before any thread exists. `signal` installs no handler
    // (SIG_DFL), so no code runs in signal context; the set is a local initialised by
    // `sigemptyset` before use. Unblocking covers a parent that left SIGPIPE blocked, under
    // which the default action would not happen and the write would fail with EPIPE again.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

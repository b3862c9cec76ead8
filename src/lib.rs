//! sentinel-bot: a Microsoft Sentinel chat bot for Teams and Slack.
//! See DESIGN.md (in the project's shared folder) and README.md for the map.

/// mimalloc rather than the system allocator: the report path makes millions of small
/// allocations, and mimalloc hands freed pages back to the OS, so `serve` returns near
/// its idle size after a large report (glibc's malloc keeps them in its arenas).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (value 15 of its C `mi_option_t` enum): how long
/// freed memory waits before it goes back to the OS. The default (10 ms) is only acted on
/// at the allocator's next use, so an idle `serve` kept a whole report's pages resident.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Makes freed memory go back to the OS at once (`app::build` calls it), so `serve` returns
/// near its idle size after a large report.
pub fn return_freed_memory_promptly() {
    // SAFETY: sets one integer option, which mimalloc reads at each purge decision; any
    // thread may call it at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

/// Turns transparent huge pages off for this process, as mimalloc's own `allow_thp = 0`
/// does (`prctl(PR_SET_THP_DISABLE)`; mimalloc reads that option before `main`, so it is
/// set here instead). mimalloc asks for huge pages on its 1 GiB arena (`MADV_HUGEPAGE`), and
/// where the kernel's THP `defrag` setting is `madvise` (Debian's default) each fault there
/// may compact memory to find a 2 MiB page, undone again by every purge: in the 100k-incident
/// report that was about 2.2 s of system time against 0.8 s of user time (BENCHMARKS.md).
/// Outside Linux it does nothing.
pub fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: sets one flag on this process's memory map; no pointer is passed.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// mimalloc's own purge delay, in milliseconds.
const DEFAULT_PURGE_DELAY_MS: std::os::raw::c_long = 10;

/// Goes back to mimalloc's default purge delay: for a one-shot command such as the CLI's
/// `report`, where handing each freed page back at once and faulting it in again when the
/// next row reuses it only costs system time (a third of a large export's CPU).
pub fn return_freed_memory_lazily() {
    // SAFETY: as in `return_freed_memory_promptly`.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, DEFAULT_PURGE_DELAY_MS) }
}

/// The purge delay now in force, in milliseconds.
pub fn freed_memory_delay_ms() -> std::os::raw::c_long {
    // SAFETY: reads one integer option.
    unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) }
}

pub mod advice;
pub mod analytics;
pub mod app;
pub mod attack;
pub mod bot;
pub mod channels;
pub mod config;
pub mod deadline;
pub mod directory;
pub mod html_text;
pub mod incident;
pub mod period;
pub mod present;
pub mod render;
pub mod reply;
pub mod report;
pub mod schedule;
pub mod server;
pub mod sources;
pub mod store;
pub mod triage;
pub mod upstream;
pub mod web_report;

#[cfg(test)]
mod allocator_tests {
    #[test]
    fn freed_memory_goes_back_at_once() {
        super::return_freed_memory_promptly();
        assert_eq!(super::freed_memory_delay_ms(), 0);
    }
}

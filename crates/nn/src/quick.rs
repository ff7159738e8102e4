//! Quick mode: smaller training runs for CI and slow machines.
//!
//! Set the environment variable `CNNKIT_QUICK=1` (the test command does) and notebooks
//! that call [`quick_or`] pick their small setting; without it they use the lecture's full
//! settings.

/// The environment variable that switches quick mode on.
pub const QUICK_ENV: &str = "CNNKIT_QUICK";

/// True when the environment variable `name` is set to anything but empty, `0`, `false`
/// or `no` (any case, surrounding spaces ignored): the one rule of the workspace's on/off
/// switches (`CNNKIT_QUICK`, `CNNKIT_GRADING`).
///
/// ```
/// // SAFETY: each doc test runs in a process of its own.
/// unsafe { std::env::set_var("CNNKIT_DOC_FLAG", " No ") };
/// assert!(!cnnkit_nn::quick::env_flag("CNNKIT_DOC_FLAG"));
/// // SAFETY: each doc test runs in a process of its own.
/// unsafe { std::env::set_var("CNNKIT_DOC_FLAG", "yes") };
/// assert!(cnnkit_nn::quick::env_flag("CNNKIT_DOC_FLAG"));
/// // SAFETY: each doc test runs in a process of its own.
/// unsafe { std::env::remove_var("CNNKIT_DOC_FLAG") };
/// assert!(!cnnkit_nn::quick::env_flag("CNNKIT_DOC_FLAG"));
/// ```
pub fn env_flag(name: &str) -> bool {
    match std::env::var(name) {
        Ok(v) => !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "no"
        ),
        Err(_) => false,
    }
}

/// True when `CNNKIT_QUICK` is on (see [`env_flag`]).
///
/// ```
/// // SAFETY: each doc test runs in a process of its own.
/// unsafe { std::env::remove_var("CNNKIT_QUICK") };
/// assert!(!cnnkit_nn::quick::is_quick());
/// ```
pub fn is_quick() -> bool {
    env_flag(QUICK_ENV)
}

/// Returns `quick` in quick mode and `full` otherwise.
///
/// ```
/// use cnnkit_nn::quick::quick_or;
/// // SAFETY: each doc test runs in a process of its own.
/// unsafe { std::env::set_var("CNNKIT_QUICK", "1") };
/// assert_eq!(quick_or(10, 1), 1);
/// // SAFETY: each doc test runs in a process of its own.
/// unsafe { std::env::set_var("CNNKIT_QUICK", "0") };
/// assert_eq!(quick_or(10, 1), 10);
/// ```
pub fn quick_or<T>(full: T, quick: T) -> T {
    if is_quick() {
        quick
    } else {
        full
    }
}

/// Switches quick mode on or off for the rest of this process: the notebook's way to pick
/// the small settings without restarting the server with `CNNKIT_QUICK=1`. It sets the
/// environment variable, the one setting every cell of an evcxr kernel shares (each cell is
/// a library of its own, with its own copy of every `static`). Cells that run after it see
/// the new mode; variables computed before keep their values, so run the notebook again
/// from its first training cell.
///
/// Call it in a cell of its own, while no training runs: changing the environment while
/// another thread reads it is what makes `std::env::set_var` unsafe.
///
/// ```
/// cnnkit_nn::quick::set_quick(true);
/// assert_eq!(cnnkit_nn::quick::quick_or(10, 1), 1);
/// cnnkit_nn::quick::set_quick(false);
/// assert!(!cnnkit_nn::quick::is_quick());
/// ```
pub fn set_quick(on: bool) {
    // SAFETY: see above; the notebooks call it from the cell's main thread while no other
    // thread of the process reads the environment.
    unsafe { std::env::set_var(QUICK_ENV, if on { "1" } else { "0" }) };
    println!(
        "quick mode {} / 빠른 모드 {}",
        if on { "on" } else { "off" },
        if on { "켜짐" } else { "꺼짐" }
    );
}

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

//! Quick mode: smaller training runs for CI and slow machines.
//!
//! Set the environment variable `CNNKIT_QUICK=1` (the test command does) and notebooks
//! that call [`quick_or`] pick their small setting; without it they use the lecture's full
//! settings.

/// The environment variable that switches quick mode on.
pub const QUICK_ENV: &str = "CNNKIT_QUICK";

/// True when `CNNKIT_QUICK` is set to anything but empty, `0`, `false` or `no`.
///
/// ```
/// std::env::remove_var("CNNKIT_QUICK");
/// assert!(!cnnkit_nn::quick::is_quick());
/// ```
pub fn is_quick() -> bool {
    match std::env::var(QUICK_ENV) {
        Ok(v) => !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "no"
        ),
        Err(_) => false,
    }
}

/// Returns `quick` in quick mode and `full` otherwise.
///
/// ```
/// use cnnkit_nn::quick::quick_or;
/// std::env::set_var("CNNKIT_QUICK", "1");
/// assert_eq!(quick_or(10, 1), 1);
/// std::env::set_var("CNNKIT_QUICK", "0");
/// assert_eq!(quick_or(10, 1), 10);
/// ```
pub fn quick_or<T>(full: T, quick: T) -> T {
    if is_quick() {
        quick
    } else {
        full
    }
}

//! How this copy of cnnkit was compiled, and a warning when that makes training slow.
//!
//! evcxr, the notebooks' kernel, compiles every crate a cell uses with debug assertions and
//! overflow checks on. In the numeric code (ours and the `gemm` crate's) those checks make
//! training about three times slower. The repository's kernels avoid them with a cargo
//! setting for dependencies (`tools/evcxr/cargo-config.toml`, installed by `make lab` and
//! the notebook runner); a notebook opened another way gets evcxr's default, and
//! [`warn_if_slow`] says so once, when training starts.

/// True when cnnkit was compiled with debug assertions (evcxr's default profile, or
/// `cargo test` / `cargo build` without `--release`).
pub const DEBUG_CHECKS: bool = cfg!(debug_assertions);

/// One line describing the build, for the environment check of notebook 00.
///
/// ```
/// let text = cnnkit_nn::build::describe();
/// assert!(text.contains("opt-level") || text.contains("debug assertions"));
/// ```
pub fn describe() -> &'static str {
    if DEBUG_CHECKS {
        "debug assertions on: training about 3x slower (open the notebooks with `make lab`)"
    } else {
        "optimised (no debug assertions, opt-level 3 in notebooks): full speed"
    }
}

/// Prints, once per process, a note that training will be slow because cnnkit was compiled
/// with debug assertions, and how to fix it. Does nothing in an optimised build.
pub fn warn_if_slow() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if DEBUG_CHECKS {
        ONCE.call_once(|| {
            println!(
                "note: cnnkit was compiled with debug assertions (evcxr's default for a \
                 cell's dependencies), which makes training about 3x slower. Start JupyterLab \
                 with `make lab`, or see \"Speed inside notebooks\" in docs/performance.md. \
                 (참고: cnnkit이 디버그 검사를 켠 채 컴파일되어 학습이 약 3배 느립니다. \
                 `make lab`으로 JupyterLab을 시작하십시오.)"
            );
        });
    }
}

//! The verdict type: its three phrases, its HTML and evcxr output, and that it never
//! changes outside grading mode.

use cnnkit_homework::*;
use cnnkit_viz::plot::RichOutput;

#[test]
fn phrases_are_stable() {
    // tools/cnnkit_notebooks/student.py looks for these exact phrases in executed notebooks.
    assert_eq!(CORRECT_PHRASE, "정답입니다!");
    assert_eq!(NOT_DONE_PHRASE, "아직 풀지 않았습니다");
    assert_eq!(WRONG_PHRASE, "틀렸습니다");
    let c = Verdict::correct("연습 0", vec!["세부".into()]);
    let n = Verdict::not_done("연습 0", "힌트");
    let w = Verdict::wrong("연습 0", vec!["문제".into()]);
    assert!(c.to_string().starts_with("✅ 정답입니다! (연습 0)"));
    assert!(n
        .to_string()
        .starts_with("⏳ 아직 풀지 않았습니다 (연습 0)"));
    assert!(w.to_string().starts_with("❌ 틀렸습니다 (연습 0)"));
    assert_eq!(
        (c.status(), n.status(), w.status()),
        ("correct", "not-done", "wrong")
    );
    // Exactly one of the three predicates holds.
    for v in [&c, &n, &w] {
        let flags = [v.is_correct(), v.is_not_done(), v.is_wrong()];
        assert_eq!(flags.iter().filter(|f| **f).count(), 1, "{v:?}");
    }
}

#[test]
fn evcxr_content_has_html_and_plain_text() {
    let v = Verdict::wrong("연습 <1>", vec!["a < b".into()]);
    let out = v.evcxr_content();
    assert!(out.contains("data-cnnkit-verdict=\"wrong\""), "{out}");
    assert!(out.contains("연습 &lt;1&gt;"), "{out}");
    assert!(out.contains("EVCXR_BEGIN_CONTENT text/plain\n❌ 틀렸습니다 (연습 <1>)\n  - a < b\nEVCXR_END_CONTENT"), "{out}");
}

#[test]
fn grading_mode_follows_the_variable() {
    // SAFETY: the only test of this binary that reads or writes the variable.
    unsafe { std::env::set_var(GRADING_ENV, "1") };
    assert!(is_grading());
    unsafe { std::env::set_var(GRADING_ENV, "0") };
    assert!(!is_grading());
    unsafe { std::env::remove_var(GRADING_ENV) };
    assert!(!is_grading());
}

//! The result of a checker: [`Verdict`], its display in a notebook, and grading mode.

use std::fmt;
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use cnnkit_viz::plot::{escape, RichOutput};

/// The environment variable that switches grading mode on (see [`is_grading`]).
pub const GRADING_ENV: &str = "CNNKIT_GRADING";

/// Exit status of the evaluation process when, in grading mode, a check is not passed.
pub const GRADING_EXIT_CODE: i32 = 3;

/// How long, in grading mode, a check waits between printing its verdict and ending the
/// evaluation process, so that evcxr forwards the verdict before it reports the end.
const GRADING_EXIT_DELAY_MS: u64 = 500;

/// True when `CNNKIT_GRADING` is set to anything but empty, `0`, `false` or `no`.
///
/// Grading mode exists for nbgrader's `autograde`, which gives a grade cell zero points
/// only when the cell ends with an error. In this mode a verdict is shown as plain text,
/// and one that is not [`Verdict::Correct`] then ends the notebook's evaluation process,
/// which evcxr reports as an error of that cell. Functions and types defined in
/// earlier cells survive this (evcxr compiles them again), variables do not; the check
/// cells of the exercise notebooks therefore call only functions. Students never need it.
///
/// ```
/// // SAFETY: each doc test runs in a process of its own.
/// unsafe { std::env::remove_var("CNNKIT_GRADING") };
/// assert!(!cnnkit_homework::is_grading());
/// ```
pub fn is_grading() -> bool {
    cnnkit_nn::quick::env_flag(GRADING_ENV)
}

/// What a checker found: the answer is correct, not written yet, or wrong (with reasons).
///
/// A checker never panics: it returns a `Verdict`, and a notebook cell that ends with one
/// shows it as a coloured box (evcxr calls [`Verdict::evcxr_display`]). The plain-text form
/// ([`fmt::Display`]) starts with one of three fixed phrases that tools can look for:
/// `정답입니다!`, `아직 풀지 않았습니다` and `틀렸습니다`.
///
/// ```
/// use cnnkit_homework::Verdict;
/// let v = Verdict::not_done("연습 1", "함수가 None을 돌려주었습니다.");
/// assert!(v.is_not_done());
/// assert!(v.to_string().contains("아직 풀지 않았습니다"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The answer passed every test.
    Correct {
        /// Which exercise, e.g. `연습 2 · 합성곱 직접 구현`.
        exercise: String,
        /// What was tested (shown below the headline).
        details: Vec<String>,
    },
    /// The placeholder is still there: the student's function returned `None`.
    NotDone {
        /// Which exercise.
        exercise: String,
        /// What to do next.
        hint: String,
    },
    /// The answer was checked and something is wrong.
    Wrong {
        /// Which exercise.
        exercise: String,
        /// What is wrong, most important first (which test case, expected versus actual
        /// where that does not give the solution away).
        problems: Vec<String>,
        /// Partial credit, for a check of several cases of which some were right (see
        /// [`Credit`]); `None` for a check that is right or wrong as a whole.
        credit: Option<Credit>,
    },
}

/// The partial credit of a check with several cases: how many were right, and the check
/// cell's points (nbgrader metadata `points`, the same number as the notebook's title).
///
/// ```
/// use cnnkit_homework::Credit;
/// let c = Credit { passed: 6, cases: 9, max_points: 10.0 };
/// assert_eq!(c.points(), 6.6); // rounded down to a tenth, never more than earned
/// assert_eq!(Credit::format_points(c.points()), "6.6");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Credit {
    /// Cases (or parts) that were right.
    pub passed: usize,
    /// Cases (or parts) in all.
    pub cases: usize,
    /// The points of the whole check.
    pub max_points: f64,
}

/// The line of a verdict that states its points; tools read it (`cnnkit-student grade`).
pub const POINTS_PREFIX: &str = "점수 (points):";

impl Credit {
    /// The points earned: `max_points * passed / cases`, rounded down to a tenth.
    pub fn points(&self) -> f64 {
        if self.cases == 0 {
            return 0.0;
        }
        let exact = self.max_points * self.passed as f64 / self.cases as f64;
        // The small epsilon keeps 0.7 * 10 from rounding down to 6.9.
        (exact * 10.0 + 1e-9).floor() / 10.0
    }

    /// Points as nbgrader reads them: `6.6`, `4`.
    pub fn format_points(points: f64) -> String {
        let s = format!("{points:.1}");
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    }

    /// The line `점수 (points): 6.6/10 (9개 중 6개 맞음, 6 of 9 right)`.
    pub fn line(&self) -> String {
        format!(
            "{POINTS_PREFIX} {}/{} ({}개 중 {}개 맞음, {} of {} right)",
            Credit::format_points(self.points()),
            Credit::format_points(self.max_points),
            self.cases,
            self.passed,
            self.passed,
            self.cases
        )
    }
}

/// The headline phrase of a correct answer.
pub const CORRECT_PHRASE: &str = "정답입니다!";
/// The headline phrase of an exercise that is not done yet.
pub const NOT_DONE_PHRASE: &str = "아직 풀지 않았습니다";
/// The headline phrase of a wrong answer.
pub const WRONG_PHRASE: &str = "틀렸습니다";

impl Verdict {
    /// A correct verdict with details.
    pub fn correct(exercise: impl Into<String>, details: Vec<String>) -> Self {
        Verdict::Correct {
            exercise: exercise.into(),
            details,
        }
    }

    /// A not-done verdict with a hint.
    pub fn not_done(exercise: impl Into<String>, hint: impl Into<String>) -> Self {
        Verdict::NotDone {
            exercise: exercise.into(),
            hint: hint.into(),
        }
    }

    /// A wrong verdict with one or more problems.
    pub fn wrong(exercise: impl Into<String>, problems: Vec<String>) -> Self {
        Verdict::Wrong {
            exercise: exercise.into(),
            problems,
            credit: None,
        }
    }

    /// A wrong verdict that earns part of the points: `credit.passed` of `credit.cases`
    /// cases were right.
    ///
    /// ```
    /// use cnnkit_homework::{Credit, Verdict};
    /// let v = Verdict::partly_wrong("연습", vec!["사례 2".into()], Credit { passed: 1, cases: 2, max_points: 4.0 });
    /// assert!(v.is_wrong() && v.credit().unwrap().points() == 2.0);
    /// assert!(v.to_string().contains("점수 (points): 2/4"));
    /// ```
    pub fn partly_wrong(
        exercise: impl Into<String>,
        problems: Vec<String>,
        credit: Credit,
    ) -> Self {
        Verdict::Wrong {
            exercise: exercise.into(),
            problems,
            credit: Some(credit),
        }
    }

    /// The partial credit of a wrong verdict (see [`Credit`]).
    pub fn credit(&self) -> Option<Credit> {
        match self {
            Verdict::Wrong { credit, .. } => *credit,
            _ => None,
        }
    }

    /// True for [`Verdict::Correct`].
    pub fn is_correct(&self) -> bool {
        matches!(self, Verdict::Correct { .. })
    }

    /// True for [`Verdict::NotDone`].
    pub fn is_not_done(&self) -> bool {
        matches!(self, Verdict::NotDone { .. })
    }

    /// True for [`Verdict::Wrong`].
    pub fn is_wrong(&self) -> bool {
        matches!(self, Verdict::Wrong { .. })
    }

    /// The exercise's name.
    pub fn exercise(&self) -> &str {
        match self {
            Verdict::Correct { exercise, .. }
            | Verdict::NotDone { exercise, .. }
            | Verdict::Wrong { exercise, .. } => exercise,
        }
    }

    /// The lines below the headline: details, the hint, or the problems.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Verdict::Correct { details, .. } => details.clone(),
            Verdict::NotDone { hint, .. } => vec![hint.clone()],
            Verdict::Wrong {
                problems, credit, ..
            } => {
                let mut lines = problems.clone();
                lines.extend(credit.map(|c| c.line()));
                lines
            }
        }
    }

    /// A short machine-readable status: `correct`, `not-done` or `wrong`.
    pub fn status(&self) -> &'static str {
        match self {
            Verdict::Correct { .. } => "correct",
            Verdict::NotDone { .. } => "not-done",
            Verdict::Wrong { .. } => "wrong",
        }
    }

    fn headline(&self) -> String {
        match self {
            Verdict::Correct { exercise, .. } => format!("✅ {CORRECT_PHRASE} ({exercise})"),
            Verdict::NotDone { exercise, .. } => format!("⏳ {NOT_DONE_PHRASE} ({exercise})"),
            Verdict::Wrong { exercise, .. } => format!("❌ {WRONG_PHRASE} ({exercise})"),
        }
    }

    /// The verdict as an HTML box (green, grey or red), with a `data-cnnkit-verdict`
    /// attribute holding [`Verdict::status`].
    ///
    /// ```
    /// let v = cnnkit_homework::Verdict::correct("연습", vec!["<3> 사례".into()]);
    /// let html = v.to_html();
    /// assert!(html.contains("data-cnnkit-verdict=\"correct\"") && html.contains("&lt;3&gt;"));
    /// ```
    pub fn to_html(&self) -> String {
        let (border, background) = match self {
            Verdict::Correct { .. } => ("#2e7d32", "#edf7ed"),
            Verdict::NotDone { .. } => ("#757575", "#f5f5f5"),
            Verdict::Wrong { .. } => ("#c62828", "#fdecea"),
        };
        let items: String = self
            .lines()
            .iter()
            .map(|l| format!("<li style=\"white-space:pre-wrap\">{}</li>", escape(l)))
            .collect();
        let list = if items.is_empty() {
            String::new()
        } else {
            format!("<ul style=\"margin:.4em 0 0 0;padding-left:1.4em\">{items}</ul>")
        };
        format!(
            "<div data-cnnkit-verdict=\"{}\" style=\"border-left:6px solid {border};\
             background:{background};padding:.6em .9em;margin:.3em 0;\
             font-family:system-ui,'Nanum Gothic',sans-serif\">\
             <b>{}</b>{list}</div>",
            self.status(),
            escape(&self.headline()),
        )
    }
}

impl RichOutput for Verdict {
    /// A `text/html` block (a coloured box) and a `text/plain` block.
    ///
    /// ```
    /// use cnnkit_viz::plot::RichOutput;
    /// let v = cnnkit_homework::Verdict::wrong("연습", vec!["사례 2".into()]);
    /// let out = v.evcxr_content();
    /// assert!(out.starts_with("EVCXR_BEGIN_CONTENT text/html\n"));
    /// assert!(out.contains("EVCXR_BEGIN_CONTENT text/plain\n❌ 틀렸습니다"));
    /// ```
    fn mime_bundle(&self) -> Vec<(&'static str, String)> {
        vec![
            ("text/html", self.to_html()),
            ("text/plain", self.to_string()),
        ]
    }

    /// Shows the verdict in a notebook (evcxr calls this for a cell's last value).
    ///
    /// In grading mode ([`is_grading`]) the verdict is printed as plain text only. A wrong
    /// verdict with partial credit ([`Verdict::credit`], more than 0 points) then makes the
    /// cell's result that number of points, which nbgrader reads as the cell's score; any
    /// other verdict that is not correct ends the evaluation process with
    /// [`GRADING_EXIT_CODE`], so that the cell ends with an error and nbgrader gives it zero
    /// points.
    ///
    /// ```
    /// use cnnkit_viz::plot::RichOutput;
    /// cnnkit_homework::Verdict::correct("연습", vec![]).evcxr_display();
    /// ```
    fn evcxr_display(&self) {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if is_grading() {
            // Plain text only: nbgrader gives full points to a grade cell without an error
            // whose result is not a number, but warns that this may change; a cell with
            // only printed text has no result at all.
            let _ = writeln!(out, "{self}");
            let partial = self.credit().map(|c| c.points()).filter(|&p| p > 0.0);
            if let Some(points) = partial {
                // A partly right answer: the cell's result is the number of points, which
                // nbgrader's autograde reads as the cell's score (partial credit).
                let points = Credit::format_points(points);
                let _ = writeln!(
                    out,
                    "(채점 모드 {GRADING_ENV}=1: 이 확인 셀은 부분 점수 {points}점입니다.)"
                );
                let _ = write!(
                    out,
                    "EVCXR_BEGIN_CONTENT text/plain\n{points}\nEVCXR_END_CONTENT\n"
                );
                let _ = out.flush();
                return;
            }
            if !self.is_correct() {
                let _ = writeln!(
                    out,
                    "(채점 모드 {GRADING_ENV}=1: 이 확인 셀은 0점입니다. 평가 프로세스를 끝냅니다.)"
                );
                let _ = out.flush();
                drop(out);
                // evcxr forwards the process's output from a reader thread and reports the
                // process's end on its own: on a loaded machine the end came first and the
                // cell lost its verdict (a clean-clone run of 2026-12-02, load 4, showed only
                // "Subprocess terminated"). Give the reader time to forward the lines.
                std::thread::sleep(std::time::Duration::from_millis(GRADING_EXIT_DELAY_MS));
                std::process::exit(GRADING_EXIT_CODE);
            }
            let _ = out.flush();
            return;
        }
        // A failed write to stdout cannot be reported from here; ignore it.
        let _ = out.write_all(self.evcxr_content().as_bytes());
        let _ = out.flush();
    }
}

impl fmt::Display for Verdict {
    /// The headline, then one indented line per detail, hint or problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.headline())?;
        for line in self.lines() {
            let mut parts = line.lines();
            if let Some(first) = parts.next() {
                write!(f, "\n  - {first}")?;
            }
            for more in parts {
                write!(f, "\n    {more}")?;
            }
        }
        Ok(())
    }
}

/// The verdict when a checker cannot compute its own expected answer (a bug of the
/// checker, not of the student).
pub(crate) fn internal_error(exercise: &str, e: impl fmt::Display) -> Verdict {
    Verdict::wrong(
        exercise,
        vec![format!("검사기 내부 오류 (강사에게 알려 주세요): {e}")],
    )
}

/// Runs a student's function that returns one answer: `None` means not done yet (with
/// `not_done_hint`), a panic is wrong.
pub(crate) fn run_answer<T>(
    exercise: &str,
    not_done_hint: &str,
    f: impl FnOnce() -> Option<T>,
) -> Result<T, Verdict> {
    match run_student(f) {
        Err(panic) => Err(Verdict::wrong(
            exercise,
            vec![format!("함수가 멈췄습니다: {panic}")],
        )),
        Ok(None) => Err(Verdict::not_done(exercise, not_done_hint)),
        Ok(Some(v)) => Ok(v),
    }
}

/// What to say when a student's function returns `None` for a test case.
pub(crate) struct NoneHints {
    /// For the first case: the exercise is not done yet.
    pub first: &'static str,
    /// For a later case (after the first passed): a wrong answer.
    pub later: &'static str,
}

/// The usual [`NoneHints::later`].
pub(crate) const SOME_FOR_EVERY_INPUT: &str =
    "이 사례에서 None을 돌려주었습니다. 모든 입력에 Some(출력)을 돌려주세요.";

/// Runs a student's function on test case `k` (counted from 1, described by `describe`),
/// turning `None` and panics into verdicts.
pub(crate) fn run_case<T>(
    exercise: &str,
    k: usize,
    describe: String,
    hints: &NoneHints,
    f: impl FnOnce() -> Option<T>,
) -> Result<T, Verdict> {
    match run_student(f) {
        Ok(Some(y)) => Ok(y),
        Ok(None) if k == 1 => Err(Verdict::not_done(exercise, hints.first)),
        Ok(None) => Err(Verdict::wrong(exercise, vec![describe, hints.later.into()])),
        Err(panic) => Err(Verdict::wrong(
            exercise,
            vec![describe, format!("함수가 멈췄습니다: {panic}")],
        )),
    }
}

/// The score of a check with several cases: every case is run (a wrong case does not stop
/// the check), the first wrong case's problems are reported, and a partly right answer earns
/// [`Credit`] for the cases that are right.
pub(crate) struct Tally {
    exercise: &'static str,
    /// What is counted: 사례 (cases) or 부분 (parts, each right when all its cases are).
    unit: &'static str,
    max_points: f64,
    cases: usize,
    passed: usize,
    /// Numbers (from 1) of the wrong cases.
    failed: Vec<usize>,
    /// The problems of the first wrong case.
    first: Vec<String>,
}

impl Tally {
    /// A tally of `cases` cases worth `max_points` together.
    pub fn new(exercise: &'static str, cases: usize, max_points: f64) -> Tally {
        Tally {
            exercise,
            unit: "사례",
            max_points,
            cases,
            passed: 0,
            failed: Vec::new(),
            first: Vec::new(),
        }
    }

    /// A tally of `parts` parts worth `max_points` together, each part right when all of
    /// its cases are (the caller counts a part once).
    pub fn parts(exercise: &'static str, parts: usize, max_points: f64) -> Tally {
        Tally {
            unit: "부분",
            ..Tally::new(exercise, parts, max_points)
        }
    }

    /// Case `k` (from 1) was right.
    pub fn pass(&mut self) {
        self.passed += 1;
    }

    /// Case `k` (from 1) was wrong, for the reasons `problems`.
    pub fn fail(&mut self, k: usize, problems: Vec<String>) {
        if self.failed.is_empty() {
            self.first = problems;
        }
        self.failed.push(k);
    }

    /// The result of [`run_case`] for case `k`: `Ok(answer)` to compare, or `Err` with a
    /// verdict to return at once (the placeholder in the first case: not done). A panic or
    /// a `None` in a later case counts as a wrong case, and `None` is returned.
    pub fn answer<T>(
        &mut self,
        k: usize,
        result: Result<T, Verdict>,
    ) -> Result<Option<T>, Verdict> {
        match result {
            Ok(y) => Ok(Some(y)),
            Err(v) if v.is_not_done() => Err(v),
            Err(v) => {
                self.fail(k, v.lines());
                Ok(None)
            }
        }
    }

    /// The verdict: correct with `details` (and the points line) when every case was right,
    /// otherwise wrong with the first wrong case's problems, the list of wrong cases and
    /// the partial credit.
    pub fn verdict(self, mut details: Vec<String>) -> Verdict {
        if self.failed.is_empty() {
            details.push(format!(
                "{POINTS_PREFIX} {}/{}",
                Credit::format_points(self.max_points),
                Credit::format_points(self.max_points)
            ));
            return Verdict::correct(self.exercise, details);
        }
        let list: Vec<String> = self.failed.iter().map(|k| k.to_string()).collect();
        let mut problems = self.first;
        if self.failed.len() > 1 {
            problems.push(format!(
                "틀린 {unit}: {} ({}개). 첫 번째로 틀린 {unit}만 자세히 보여 줍니다.",
                list.join(", "),
                self.failed.len(),
                unit = self.unit
            ));
        }
        Verdict::partly_wrong(
            self.exercise,
            problems,
            Credit {
                passed: self.passed,
                cases: self.cases,
                max_points: self.max_points,
            },
        )
    }
}

/// Runs student code, turning a panic into `Err(message)` instead of ending the notebook.
///
/// While `f` runs, the panic hook is replaced by one that records the message and its
/// location without printing (a notebook would show it on stderr); the previous hook is
/// restored afterwards.
pub(crate) fn run_student<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let location: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&location);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if let Ok(mut slot) = seen.lock() {
            *slot = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()));
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(메시지 없음)".to_string());
        let at = location.lock().ok().and_then(|l| l.clone());
        match at {
            Some(at) => format!("panic: {message} ({at})"),
            None => format!("panic: {message}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_student_catches_a_panic_with_its_message() {
        let r: Result<i32, String> = run_student(|| {
            let v: Vec<i32> = Vec::new();
            v[3]
        });
        let e = r.unwrap_err();
        assert!(e.contains("index out of bounds"), "{e}");
        assert_eq!(run_student(|| 5), Ok(5));
    }

    #[test]
    fn display_lists_every_line() {
        let v = Verdict::wrong("연습 9", vec!["첫째".into(), "둘째\n이어서".into()]);
        let s = v.to_string();
        assert_eq!(s, "❌ 틀렸습니다 (연습 9)\n  - 첫째\n  - 둘째\n    이어서");
    }
}

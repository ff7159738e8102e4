//! Small HTML tables: model summaries, per-class results.

use std::fmt::Display;

use super::canvas::{escape, is_wide};
use super::output::Html;
use super::style::FONT_FAMILY;

/// True for cells that look like numbers (`1,413,834`, `-0.25`, `91.2%`): right-aligned.
fn is_numeric(s: &str) -> bool {
    let t = s.trim().trim_end_matches('%').replace(',', "");
    !t.is_empty() && t.parse::<f64>().is_ok()
}

/// Display width in a fixed-width terminal: Hangul and CJK ([`is_wide`]) take two columns.
fn mono_width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

/// A table with a header row, rendered as HTML in a notebook and as aligned text elsewhere.
/// Cells are escaped; cells that look like numbers are right-aligned.
///
/// Rows shorter than the header are padded with empty cells.
///
/// ```
/// let t = cnnkit_viz::plot::table(
///     &["층", "출력 모양", "파라미터 수"],
///     &[vec!["conv2d (Conv2D)", "(28, 28, 64)", "3,200"],
///       vec!["max_pooling2d (MaxPool2D)", "(14, 14, 64)", "0"]],
/// );
/// assert!(t.as_str().contains("<th"));
/// assert!(t.as_str().contains("3,200"));
/// assert!(t.text().lines().count() == 4); // header, rule, two rows
/// ```
pub fn table<H, R, C>(headers: &[H], rows: &[R]) -> Html
where
    H: AsRef<str>,
    R: AsRef<[C]>,
    C: Display,
{
    let headers: Vec<String> = headers.iter().map(|h| h.as_ref().to_string()).collect();
    let ncols = rows
        .iter()
        .map(|r| r.as_ref().len())
        .chain(std::iter::once(headers.len()))
        .max()
        .unwrap_or(0);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut v: Vec<String> = r.as_ref().iter().map(|c| c.to_string()).collect();
            v.resize(ncols, String::new());
            v
        })
        .collect();
    // A column is right-aligned when all its non-empty cells are numbers.
    let numeric: Vec<bool> = (0..ncols)
        .map(|j| {
            let mut it = cells
                .iter()
                .map(|r| &r[j])
                .filter(|s| !s.is_empty())
                .peekable();
            it.peek().is_some() && it.all(|s| is_numeric(s))
        })
        .collect();
    let align = |j: usize| if numeric[j] { "right" } else { "left" };

    // HTML
    let mut html = format!(
        "<table style=\"border-collapse:collapse;font-family:{};font-size:13px\">\n<thead><tr>",
        escape(FONT_FAMILY)
    );
    for j in 0..ncols {
        let h = headers.get(j).map(String::as_str).unwrap_or("");
        html.push_str(&format!(
            "<th style=\"text-align:{};padding:4px 12px;border-bottom:2px solid #444\">{}</th>",
            align(j),
            escape(h)
        ));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for (i, row) in cells.iter().enumerate() {
        let bg = if i % 2 == 1 {
            "background:#f4f6f8;"
        } else {
            ""
        };
        html.push_str("<tr>");
        for (j, cell) in row.iter().enumerate() {
            html.push_str(&format!(
                "<td style=\"{bg}text-align:{};padding:3px 12px;border-bottom:1px solid #ddd;\
                 font-variant-numeric:tabular-nums\">{}</td>",
                align(j),
                escape(cell)
            ));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table>");

    // Plain text
    let widths: Vec<usize> = (0..ncols)
        .map(|j| {
            cells
                .iter()
                .map(|r| mono_width(&r[j]))
                .chain(std::iter::once(mono_width(
                    headers.get(j).map(String::as_str).unwrap_or(""),
                )))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let pad = |s: &str, j: usize| {
        let fill = " ".repeat(widths[j] - mono_width(s));
        if numeric[j] {
            format!("{fill}{s}")
        } else {
            format!("{s}{fill}")
        }
    };
    let line = |row: Vec<&str>| {
        row.iter()
            .enumerate()
            .map(|(j, s)| pad(s, j))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut text = line(
        (0..ncols)
            .map(|j| headers.get(j).map(String::as_str).unwrap_or(""))
            .collect(),
    );
    text.push('\n');
    text.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * ncols.saturating_sub(1)));
    for row in &cells {
        text.push('\n');
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    Html::new(html, text)
}

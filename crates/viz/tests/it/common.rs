//! Reading SVG figures in tests: the text elements, their attributes, balanced tags.
//!
//! Each test file that needs these says `mod common;`; not every file uses every helper.
#![allow(dead_code)]

/// `(attributes, content)` of every `<text>` element (content trimmed).
pub fn texts(svg: &str) -> Vec<(String, String)> {
    svg.split("<text")
        .skip(1)
        .map(|part| {
            let (attrs, rest) = part.split_once('>').expect("unclosed <text");
            let content = rest.split("</text>").next().unwrap_or("").trim();
            (attrs.to_string(), content.to_string())
        })
        .collect()
}

/// The numeric attribute `name` in `attrs`.
pub fn attr(attrs: &str, name: &str) -> f64 {
    let key = format!(" {name}=\"");
    let start = attrs
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {attrs}"))
        + key.len();
    let end = attrs[start..].find('"').unwrap() + start;
    attrs[start..end].parse().unwrap()
}

/// How many text elements show exactly `content`.
pub fn count_text(svg: &str, content: &str) -> usize {
    texts(svg).iter().filter(|(_, c)| c == content).count()
}

/// True when a text element shows exactly `content`.
pub fn has_text(svg: &str, content: &str) -> bool {
    count_text(svg, content) > 0
}

/// Positions `(x, y)` of the text elements showing `content`.
pub fn positions(svg: &str, content: &str) -> Vec<(f64, f64)> {
    texts(svg)
        .iter()
        .filter(|(_, c)| c == content)
        .map(|(a, _)| (attr(a, "x"), attr(a, "y")))
        .collect()
}

/// The `y` of the first text element showing `content`.
pub fn y_of(svg: &str, content: &str) -> f64 {
    let (a, _) = texts(svg)
        .into_iter()
        .find(|(_, c)| c == content)
        .unwrap_or_else(|| panic!("no text {content:?}"));
    attr(&a, "y")
}

/// Every `<svg>`, `<text>` and `<g>` is closed.
pub fn balanced(svg: &str) {
    for tag in ["svg", "text", "g"] {
        let open =
            svg.matches(&format!("<{tag}>")).count() + svg.matches(&format!("<{tag} ")).count();
        assert_eq!(
            open,
            svg.matches(&format!("</{tag}>")).count(),
            "<{tag}> not balanced"
        );
    }
}

/// One `<svg>` document with balanced tags.
pub fn well_formed(svg: &str) {
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    balanced(svg);
}

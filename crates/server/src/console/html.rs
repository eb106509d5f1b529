//! HTML building with escaping as the default: [`Html`] takes event text only through
//! [`Html::text`] and [`Html::attr`], which escape it; [`Html::raw`] takes `&'static str`
//! only, so no runtime string can reach the page unescaped. Event text is attacker-controlled.

use std::fmt::Write;

/// A page (or part of one) being built.
#[derive(Debug, Default)]
pub struct Html(String);

/// `text` escaped for an HTML text node or a double-quoted attribute value. Besides the five
/// markup characters, the bidirectional controls (U+202A–U+202E, U+2066–U+2069) are written
/// as visible references so that an RTL override in an event cannot reorder what is shown.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    escape_into(&mut out, text);
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => {
                let _ = write!(out, "[U+{:04X}]", u32::from(c));
            }
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "[U+{:04X}]", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// `value` percent-encoded for a query-string component.
pub fn url_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// A query string (`a=1&b=2`, no leading `?`) from pairs, each part percent-encoded.
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", url_component(k), url_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Html {
    /// An empty fragment.
    pub fn new() -> Self {
        Html(String::with_capacity(4096))
    }

    /// Markup written in this source file (never runtime text).
    pub fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Text, escaped.
    pub fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.0, text);
        self
    }

    /// ` name="value"` with the value escaped (`name` is a literal).
    pub fn attr(&mut self, name: &'static str, value: &str) -> &mut Self {
        self.0.push(' ');
        self.0.push_str(name);
        self.0.push_str("=\"");
        escape_into(&mut self.0, value);
        self.0.push('"');
        self
    }

    /// A number (nothing to escape).
    pub fn num(&mut self, n: impl Into<f64>) -> &mut Self {
        let n = n.into();
        if n.fract() == 0.0 && n.abs() < 1e15 {
            let _ = write!(self.0, "{}", n as i64);
        } else {
            let _ = write!(self.0, "{n:.2}");
        }
        self
    }

    /// Appends an already built fragment (escaped when it was built).
    pub fn push(&mut self, other: Html) -> &mut Self {
        self.0.push_str(&other.0);
        self
    }

    /// `<a href="href">text</a>`, both escaped.
    pub fn link(&mut self, href: &str, text: &str) -> &mut Self {
        self.raw("<a")
            .attr("href", href)
            .raw(">")
            .text(text)
            .raw("</a>")
    }

    /// The markup.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_bidi_controls_are_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(escape("a\u{202e}b"), "a[U+202E]b");
        assert_eq!(escape("nul\u{0}"), "nul[U+0000]");
        let mut h = Html::new();
        h.raw("<td")
            .attr("title", "\"><img src=x onerror=1>")
            .raw(">");
        assert_eq!(
            h.into_string(),
            "<td title=\"&quot;&gt;&lt;img src=x onerror=1&gt;\">"
        );
    }

    #[test]
    fn query_components_are_percent_encoded() {
        assert_eq!(
            query_string([("actor", "a b&c=d"), ("x", "é")]),
            "actor=a%20b%26c%3Dd&x=%C3%A9"
        );
    }
}

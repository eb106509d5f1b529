//! What the terminal is: its width (`COLUMNS`, else the `TIOCGWINSZ` ioctl), and text made
//! safe to show on it. Event text is attacker-controlled: a control character (an escape
//! sequence, a carriage return) or a bidirectional override could rewrite what the operator
//! sees, so every such character is shown escaped, and cells are cut to their column width
//! (measured in terminal columns, not bytes) with an ellipsis.

use unicode_width::UnicodeWidthChar;

/// The width of the terminal on file descriptor `fd` (1 stdout, 2 stderr): `COLUMNS` when set
/// to a number, else the kernel's window size; `None` when neither says (not a terminal).
pub fn width(fd: i32) -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    window_columns(fd)
}

#[allow(unsafe_code)]
fn window_columns(fd: i32) -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes one `winsize` (plain integers, for which all-zero bytes are a
    // valid value) into `size`, which lives on this stack frame for the whole call; on a
    // descriptor that is not a terminal it fails with ENOTTY and writes nothing.
    let size = unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        if libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) != 0 {
            return None;
        }
        size
    };
    (size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// Whether `c` must not reach the terminal as it is: control characters (C0, DEL, C1) and
/// the invisible characters that reorder or hide text (bidi overrides and isolates, zero
/// width spaces and joiners, the BOM).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
        )
}

/// `s` with every unsafe character escaped: `\n`, `\r`, `\t`, others as `\u{1b}`.
pub fn escape(s: &str) -> String {
    if !s.chars().any(unsafe_char) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Terminal columns of `s` (already escaped).
pub fn columns(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `s` escaped and cut to at most `width` columns, ending in `…` when cut.
pub fn fit(s: &str, width: usize) -> String {
    let s = escape(s);
    if columns(&s) <= width {
        return s;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// `s` (escaped and fitted) padded with spaces to `width` columns.
pub fn pad(s: &str, width: usize) -> String {
    let s = fit(s, width);
    let n = columns(&s);
    let mut out = s;
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert_eq!(escape("plain C:\\x"), "plain C:\\x");
        assert_eq!(escape("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(escape("\u{1b}[2Jgone"), "\\u{1b}[2Jgone");
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(escape("\u{85}\u{7f}"), "\\u{85}\\u{7f}");
    }

    #[test]
    fn cells_are_cut_by_columns_with_an_ellipsis() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("exactly10!", 10), "exactly10!");
        assert_eq!(fit("a bit longer", 8), "a bit l…");
        assert_eq!(
            columns(&fit("日本語のテキスト", 7)),
            7,
            "wide characters count twice"
        );
        assert_eq!(fit("日本語のテキスト", 7), "日本語…");
        assert_eq!(fit("\u{1b}[31mred", 6), "\\u{1b…", "escaped before cut");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("日本", 5), "日本 ");
    }
}

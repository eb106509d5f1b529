//! Masking of revealed values for readers without the `pii` permission:
//! `a***@example.com`, `203.0.113.0/24`, `2001:db8:1::/48`, `J***`.

use super::policy::FieldPath;
use std::net::IpAddr;

/// A masked form of `text`, a value of the field at `path`.
pub(crate) fn mask_text(path: &FieldPath, text: &str) -> String {
    if matches!(path, FieldPath::Ip)
        && let Ok(ip) = text.trim().parse::<IpAddr>()
    {
        return mask_ip(ip);
    }
    if let Some((local, domain)) = text.rsplit_once('@') {
        return format!("{}***@{domain}", first_char(local));
    }
    if let Ok(ip) = text.trim().parse::<IpAddr>() {
        return mask_ip(ip);
    }
    format!("{}***", first_char(text))
}

/// A masked form of a revealed JSON value: strings as [`mask_text`], anything else `"***"`.
pub(crate) fn mask_json(path: &FieldPath, json: &str) -> String {
    let masked = match serde_json::from_str::<String>(json) {
        Ok(text) => mask_text(path, &text),
        Err(_) => "***".into(),
    };
    serde_json::to_string(&masked).expect("a string prints")
}

fn first_char(text: &str) -> &str {
    text.char_indices()
        .nth(1)
        .map_or("", |(end, _)| &text[..end])
}

fn mask_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_emails_addresses_and_names() {
        assert_eq!(
            mask_text(&FieldPath::ActorEmail, "alice@example.com"),
            "a***@example.com"
        );
        assert_eq!(mask_text(&FieldPath::Ip, "203.0.113.77"), "203.0.113.0/24");
        assert_eq!(
            mask_text(&FieldPath::Ip, "2001:db8:1:2::9"),
            "2001:db8:1::/48"
        );
        assert_eq!(mask_text(&FieldPath::ActorName, "Jürgen"), "J***");
        assert_eq!(mask_text(&FieldPath::ActorName, "Émile"), "É***");
        assert_eq!(mask_text(&FieldPath::ActorName, ""), "***");
        assert_eq!(mask_json(&FieldPath::ActorName, "42"), "\"***\"");
        assert_eq!(
            mask_json(&FieldPath::ActorName, "\"bob@x.org\""),
            "\"b***@x.org\""
        );
    }
}

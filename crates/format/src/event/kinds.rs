//! The two small enums of an event, [`Outcome`] and [`Severity`].
//!
//! Both have a stable one-byte code (`to_u8` / `from_u8`) used by the payload codec and by
//! indexes, and a lowercase name used in JSON. Codes are part of the on-disk format: never
//! renumber a variant, only append new ones.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The error of `Outcome::from_str` and `Severity::from_str`: the name is not a variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseEnumError {
    type_name: &'static str,
    expected: &'static str,
    input: String,
}

impl fmt::Display for ParseEnumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?}: expected one of {}",
            self.type_name, self.input, self.expected
        )
    }
}

impl std::error::Error for ParseEnumError {}

/// Defines a fieldless enum with stable byte codes and lowercase names, plus `as_str`,
/// `ALL`, `to_u8`, `from_u8`, `Display`, case-insensitive `FromStr` and string serde.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $type_name:literal, $expected:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, $text:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $code, )+
        }

        impl $name {
            /// Every variant, in ascending order.
            pub const ALL: [Self; [$($code),+].len()] = [$(Self::$variant),+];

            /// The lowercase name used in JSON and on the command line.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// The stable one-byte code used by the payload codec and by indexes.
            pub const fn to_u8(self) -> u8 {
                self as u8
            }

            /// The variant with code `code`, or `None` if no variant has it.
            pub const fn from_u8(code: u8) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;

            /// Parses a variant's name, ignoring ASCII case.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str().eq_ignore_ascii_case(s))
                    .ok_or_else(|| ParseEnumError {
                        type_name: $type_name,
                        expected: $expected,
                        input: s.chars().take(64).collect(),
                    })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct NameVisitor;

                impl Visitor<'_> for NameVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "one of {}", $expected)
                    }

                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse().map_err(E::custom)
                    }
                }

                deserializer.deserialize_str(NameVisitor)
            }
        }
    };
}

named_enum! {
    /// How the audited action ended.
    Outcome, "outcome", "success, failure, denied, error" {
        /// The action completed (the default).
        #[default]
        Success = 0, "success";
        /// The action was attempted and did not succeed (e.g. a wrong password).
        Failure = 1, "failure";
        /// Authorization refused the action.
        Denied = 2, "denied";
        /// The system failed while performing the action.
        Error = 3, "error";
    }
}

named_enum! {
    /// How important an event is, ordered `Info < Low < Medium < High < Critical`.
    Severity, "severity", "info, low, medium, high, critical" {
        /// Routine activity (the default).
        #[default]
        Info = 0, "info";
        /// Worth keeping, rarely worth a look.
        Low = 1, "low";
        /// Worth a look.
        Medium = 2, "medium";
        /// Needs attention.
        High = 3, "high";
        /// Needs attention now.
        Critical = 4, "critical";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_order_are_stable() {
        let outcomes: Vec<_> = Outcome::ALL
            .iter()
            .map(|o| (o.to_u8(), o.as_str()))
            .collect();
        assert_eq!(
            outcomes,
            [(0, "success"), (1, "failure"), (2, "denied"), (3, "error")]
        );
        let severities: Vec<_> = Severity::ALL
            .iter()
            .map(|s| (s.to_u8(), s.as_str()))
            .collect();
        assert_eq!(
            severities,
            [
                (0, "info"),
                (1, "low"),
                (2, "medium"),
                (3, "high"),
                (4, "critical")
            ]
        );
        assert!(Severity::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Outcome::default(), Outcome::Success);
        assert_eq!(Severity::default(), Severity::Info);
        for code in 0..=u8::MAX {
            assert_eq!(
                Outcome::from_u8(code).map(Outcome::to_u8),
                (code < 4).then_some(code)
            );
            assert_eq!(
                Severity::from_u8(code).map(Severity::to_u8),
                (code < 5).then_some(code)
            );
        }
    }

    #[test]
    fn parsing_ignores_case_and_explains_errors() {
        assert_eq!("DENIED".parse::<Outcome>(), Ok(Outcome::Denied));
        assert_eq!("Critical".parse::<Severity>(), Ok(Severity::Critical));
        let e = "fatal".parse::<Severity>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown severity \"fatal\": expected one of info, low, medium, high, critical"
        );
        assert!(" info".parse::<Severity>().is_err());
    }

    #[test]
    fn serde_uses_lowercase_names() {
        assert_eq!(
            serde_json::to_string(&Outcome::Failure).unwrap(),
            "\"failure\""
        );
        assert_eq!(
            serde_json::from_str::<Outcome>("\"Error\"").unwrap(),
            Outcome::Error
        );
        assert_eq!(serde_json::to_string(&Severity::High).unwrap(), "\"high\"");
        let err = serde_json::from_str::<Outcome>("\"ok\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expected one of success, failure, denied, error"),
            "{err}"
        );
        assert!(serde_json::from_str::<Severity>("2").is_err());
    }
}

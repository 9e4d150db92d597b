//! What a table or view name may be.
//!
//! A name is 1 to [`MAX_LEN`] bytes of Unicode letters and digits, `_`, `-`, `.` and `:`, and
//! starts with a letter, a digit or `_`. So a name never needs quoting in an error message, a
//! log line or a file name, and never reads as a path (`..`, `/`), an option (`-x`) or
//! nothing at all. Everything else is refused with [`Error::InvalidName`] before the engine
//! records anything.

use crate::error::{Error, Result};

/// The longest name, in bytes (kept beside `Error::InvalidName`, whose message states it).
pub(crate) use crate::error::MAX_NAME_LEN as MAX_LEN;

/// `Ok` if `name` may name a table or view.
pub(crate) fn check(name: &str) -> Result<()> {
    let invalid = |reason| Err(Error::InvalidName { name: name.to_string(), reason });
    let Some(first) = name.chars().next() else {
        return invalid("it is empty");
    };
    if name.len() > MAX_LEN {
        return invalid("it is too long");
    }
    if !(first.is_alphanumeric() || first == '_') {
        return invalid("it must start with a letter, a digit or '_'");
    }
    if !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')) {
        return invalid("it holds a character other than letters, digits, '_', '-', '.' and ':'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::shown;

    #[test]
    fn identifier_like_names_are_accepted() {
        for name in [
            "t",
            "orders",
            "_hidden",
            "q3.v2",
            "ivm::testing::check",
            "revenue-per-country",
            "9lives",
            "Straße",
            "日本",
        ] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
        assert_eq!(check(&"a".repeat(MAX_LEN)), Ok(()));
    }

    #[test]
    fn everything_else_is_refused_with_its_reason() {
        let reason = |name: &str| match check(name) {
            Err(Error::InvalidName { reason, .. }) => reason,
            other => panic!("{name:?}: {other:?}"),
        };
        assert_eq!(reason(""), "it is empty");
        assert_eq!(reason(&"a".repeat(MAX_LEN + 1)), "it is too long");
        assert_eq!(reason(&"x".repeat(5_000)), "it is too long");
        for name in ["../escape", ".hidden", "-flag", ":x"] {
            assert!(reason(name).starts_with("it must start"), "{name}");
        }
        for name in ["a/b", "a\0b", "a\nb", "with space", "tab\t", "semi;colon", "quote\"", "a\\b"] {
            assert!(reason(name).contains("a character other than"), "{name:?}");
        }
    }

    #[test]
    fn long_names_are_shortened_in_messages() {
        assert_eq!(shown("short"), "short");
        let long = "é".repeat(100);
        assert_eq!(shown(&long), format!("{}…", "é".repeat(64)));
        let error = check(&"x".repeat(5_000)).unwrap_err().to_string();
        assert!(error.len() < 400, "{error}");
    }
}

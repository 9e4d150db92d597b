//! Hive-style partition folders: `column=value` path segments, as `write_parquet_partitioned`
//! writes them and as DuckDB, Polars and Spark write and read them.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, StringArray};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{ArrowError, FieldRef};

/// The folder name Hive gives a null value.
const NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// Each value of `array` as a partition folder's value.
pub(crate) fn values(array: &ArrayRef) -> Result<Vec<String>, ArrowError> {
    let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?;
    Ok((0..array.len())
        .map(|i| if array.is_null(i) { NULL.to_string() } else { escape(&formatter.value(i).to_string()) })
        .collect())
}

/// The `column=value` segments of `file`'s folders below `root`, values unescaped, a null as
/// `None`.
pub(crate) fn partitions_of(root: &Path, file: &Path) -> Vec<(String, Option<String>)> {
    let folders = file.parent().and_then(|parent| parent.strip_prefix(root).ok());
    folders
        .into_iter()
        .flat_map(Path::components)
        .filter_map(|segment| {
            let segment = segment.as_os_str().to_str()?;
            let (column, value) = segment.split_once('=')?;
            let value = (value != NULL).then(|| unescape(value));
            Some((unescape(column), value))
        })
        .collect()
}

/// A column of `rows` copies of a partition's `value`, of `field`'s type (text parsed as
/// numbers, dates and so on, as Arrow's cast parses them).
pub(crate) fn column(field: &FieldRef, value: Option<&str>, rows: usize) -> Result<ArrayRef, ArrowError> {
    let text: ArrayRef = Arc::new(StringArray::from(vec![value; rows]));
    cast_with_options(&text, field.data_type(), &CastOptions { safe: false, ..Default::default() })
}

/// `value` with the characters Hive escapes written as `%XX`.
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control() || "/\\=%:#?*\"'<>|^[]{}".contains(c) {
            let mut bytes = [0; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                escaped.push_str(&format!("%{byte:02X}"));
            }
        } else {
            escaped.push(c);
        }
    }
    escaped
}

/// `value` with every `%XX` turned back into its byte (a `%` not followed by two hex digits
/// stays as it is).
fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_escape_what_would_break_a_path_and_come_back() {
        assert_eq!(escape("Lyon"), "Lyon");
        assert_eq!(escape("a/b=c%"), "a%2Fb%3Dc%25");
        assert_eq!(escape("é\n"), "é%0A");
        for value in ["Lyon", "a/b=c%", "é\n", "100%", "%zz"] {
            assert_eq!(unescape(&escape(value)), value);
        }
        assert_eq!(unescape("%zz%4"), "%zz%4");
    }

    #[test]
    fn partitions_are_the_folders_below_the_root() {
        let root = Path::new("/data/out");
        let file =
            Path::new("/data/out/shop=Lyon%2FEst/year=__HIVE_DEFAULT_PARTITION__/plain/part-0.parquet");
        assert_eq!(
            partitions_of(root, file),
            vec![("shop".to_string(), Some("Lyon/Est".to_string())), ("year".to_string(), None)]
        );
        assert_eq!(partitions_of(root, Path::new("/elsewhere/a=1/f.parquet")), vec![]);
    }
}

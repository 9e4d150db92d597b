//! A table or view at a time, and a table's history, written as Parquet.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, UInt32Array, UInt64Array};
use arrow_schema::FieldRef;
use hashbrown::HashMap;

use crate::error::{Error, FileError, FileProblem, Result};
use crate::files::columns::{Columns, LayoutError};
use crate::files::encode::Encoded;
use crate::files::hive;
use crate::files::parquet_file::{ParquetFile, ParquetOptions, Written, layout_error, sync_folder};
use crate::files::sources::{Input, Source};
use crate::time::{Diff, Time};

/// Writes `source` as of `t` to the Parquet file `path`: one row per row held (a row held
/// twice is written twice), in the columns the row type lays out (see [the
/// module](crate::files#columns)). Rows come in the order the workers hold them (each
/// worker's share sorted), not sorted as a whole: sorting would cost more than the write.
///
/// Reads like [`View::at`](crate::View::at) (waiting for `t`, [`Error::Compacted`] before the
/// retained history), then writes: memory holds the read's rows once, as `at` returns them, and
/// one row group of Arrow arrays at a time. The file appears under its name only once complete, and a
/// file already there is replaced. A row with a negative multiplicity (a bag table's row
/// deleted more often than inserted) fails with [`Error::NegativeMultiplicity`] before anything
/// is written.
///
/// ```
/// # fn main() -> ivm::Result<()> {
/// use ivm::files::{ParquetOptions, write_parquet};
/// use ivm::{Config, Engine};
///
/// #[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
/// struct Sale { shop: String, cents: i64 }
///
/// let engine = Engine::start(Config::default())?;
/// let sales = engine.table::<Sale>("sales")?;
/// let t = engine.commit(|tx| tx.insert(&sales, Sale { shop: "Lyon".into(), cents: 250 }))?;
/// let folder = tempfile::tempdir().unwrap();
/// let written = write_parquet(&sales, t, folder.path().join("sales.parquet"), &ParquetOptions::default())?;
/// assert_eq!(written.rows, 1);
/// // duckdb -c "SELECT shop, sum(cents) FROM 'sales.parquet' GROUP BY shop"
/// # Ok(()) }
/// ```
pub fn write_parquet<S: Source>(
    source: &S,
    t: Time,
    path: impl AsRef<Path>,
    options: &ParquetOptions,
) -> Result<Written> {
    let path = path.as_ref();
    let columns = Columns::<S::Shape>::new().map_err(|e| layout_error(path, e))?;
    let arrays = arrays_at(source, t, &columns, options, path)?;
    let mut file = ParquetFile::create(path, columns.fields().to_vec(), options)?;
    for chunk in arrays {
        file.append(chunk)?;
    }
    let (path, rows, bytes) = file.finish()?;
    Ok(Written { files: vec![path], rows, bytes })
}

/// `source`'s rows at `t` as chunks of arrays, one per column: encoded by the workers that
/// hold them, each from its own rows by reference, where they can; else read and encoded here.
fn arrays_at<S: Source>(
    source: &S,
    t: Time,
    columns: &Columns<S::Shape>,
    options: &ParquetOptions,
    path: &Path,
) -> Result<Vec<Vec<ArrayRef>>> {
    let size = options.rows_per_batch();
    let name = source.source_name();
    if let Some(parts) = source.visit_at(t, columns.visitor(size))? {
        let mut chunks = Vec::new();
        for part in parts {
            let encoded = part.downcast::<Encoded>().map_err(|_| crate::shard::kind::mismatched())?;
            if let Some((row, diff)) = encoded.negative {
                return Err(Error::NegativeMultiplicity { name: name.to_string(), row, diff, time: t });
            }
            if let Some(message) = encoded.error {
                return Err(layout_error(path, LayoutError::new(message)));
            }
            chunks.extend(encoded.chunks);
        }
        return Ok(chunks);
    }
    let rows = listed(source.rows_with_diffs(t)?, name, t)?;
    chunks(&rows, size).iter().map(|chunk| columns.encode(chunk).map_err(|e| layout_error(path, e))).collect()
}

/// Writes `source` as of `t` to a folder of Parquet files partitioned by `column`, laid out
/// as Hive does: `folder/column=value/part-0.parquet`, the partition column left out of the
/// files (readers take it from the path: DuckDB's `read_parquet('folder/**/*.parquet',
/// hive_partitioning = true)`, Polars' `scan_parquet(folder, hive_partitioning=True)`).
///
/// Values are written as text, with `/`, `\`, `=`, `%`, `:`, `#`, `?`, `*`, `"`, `'`, `<`, `>`,
/// `|`, `^`, `[`, `]`, `{`, `}` and control characters escaped as `%XX`, and a null as
/// `__HIVE_DEFAULT_PARTITION__`. `column` must be a top-level column (see [the
/// module](crate::files#columns)). The folder is written beside its final name and renamed
/// once complete; it must not exist, or be empty. Otherwise as [`write_parquet`].
pub fn write_parquet_partitioned<S: Source>(
    source: &S,
    t: Time,
    folder: impl AsRef<Path>,
    column: &str,
    options: &ParquetOptions,
) -> Result<Written> {
    let folder = folder.as_ref();
    let columns = Columns::<S::Shape>::new().map_err(|e| layout_error(folder, e))?;
    let Some(by) = columns.fields().iter().position(|field| field.name() == column) else {
        let names: Vec<&str> = columns.fields().iter().map(|field| field.name().as_str()).collect();
        return Err(Error::File(FileError {
            path: folder.to_path_buf(),
            row: None,
            column: Some(column.to_string()),
            problem: FileProblem::Layout(format!(
                "no top-level column has this name; the columns are {names:?}"
            )),
        }));
    };
    let kept: Vec<FieldRef> =
        columns.fields().iter().enumerate().filter(|(i, _)| *i != by).map(|(_, f)| Arc::clone(f)).collect();
    let arrays = arrays_at(source, t, &columns, options, folder)?;
    let staging = staging_folder(folder)?;
    let mut files: HashMap<String, ParquetFile> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for mut arrays in arrays {
        let keys = hive::values(&arrays[by]).map_err(|e| layout_error(folder, LayoutError::new(e)))?;
        arrays.remove(by);
        let batch = RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(kept.clone())), arrays)
            .map_err(|e| layout_error(folder, LayoutError::new(e)))?;
        let mut groups: HashMap<&str, Vec<u32>> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            groups.entry(key.as_str()).or_default().push(i as u32);
        }
        for (key, indices) in groups {
            let part = arrow_select::take::take_record_batch(&batch, &UInt32Array::from(indices))
                .map_err(|e| layout_error(folder, LayoutError::new(e)))?;
            if !files.contains_key(key) {
                let dir = staging.join(format!("{column}={key}"));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
                files.insert(
                    key.to_string(),
                    ParquetFile::create(&dir.join("part-0.parquet"), kept.clone(), options)?,
                );
                order.push(key.to_string());
            }
            if let Some(file) = files.get_mut(key) {
                file.append(part.columns().to_vec())?;
            }
        }
    }
    let mut written = Written::default();
    for key in order {
        if let Some(file) = files.remove(&key) {
            let (path, rows, bytes) = file.finish()?;
            written.files.push(folder.join(path.strip_prefix(&staging).unwrap_or(&path)));
            written.rows += rows;
            written.bytes += bytes;
        }
    }
    if folder.exists() {
        std::fs::remove_dir(folder)
            .map_err(|e| Error::io(format!("replacing the empty folder {}", folder.display()), e))?;
    }
    std::fs::rename(&staging, folder)
        .map_err(|e| Error::io(format!("renaming {} to its final name", staging.display()), e))?;
    sync_folder(folder)?;
    Ok(written)
}

/// Writes `table`'s history through `t` (see [`Table::history_at`](crate::Table::history_at))
/// to the Parquet file `path`: the row's columns, then `time` and `diff` (named by `options`).
/// A batch tool recomputes a view at any retained `s <= t` from it, as the engine would:
/// `SELECT <row columns>, sum(diff) FROM history WHERE time <= s GROUP BY ALL HAVING sum(diff) <> 0`.
/// Otherwise as [`write_parquet`].
pub fn write_history<S: Input>(
    table: &S,
    t: Time,
    path: impl AsRef<Path>,
    options: &ParquetOptions,
) -> Result<Written> {
    let path = path.as_ref();
    let columns = Columns::<S::Shape>::new().map_err(|e| layout_error(path, e))?;
    let fields = columns.fields_with(&options.change_fields()).map_err(|e| layout_error(path, e))?;
    let updates = table.history(t)?;
    let mut file = ParquetFile::create(path, fields, options)?;
    let chunks: Vec<_> = updates.chunks(options.rows_per_batch()).collect();
    file.append_all(&chunks, |chunk| change_arrays(&columns, chunk).map_err(|e| layout_error(path, e)))?;
    let (path, rows, bytes) = file.finish()?;
    Ok(Written { files: vec![path], rows, bytes })
}

/// `updates` as the row's arrays followed by a time and a diff array.
pub(crate) fn change_arrays<S: crate::files::columns::Shape>(
    columns: &Columns<S>,
    updates: &[(S::Row, Time, Diff)],
) -> std::result::Result<Vec<ArrayRef>, LayoutError> {
    let rows: Vec<&S::Row> = updates.iter().map(|(row, _, _)| row).collect();
    let mut arrays = columns.encode(&rows)?;
    arrays.push(Arc::new(UInt64Array::from_iter_values(updates.iter().map(|(_, time, _)| *time))));
    arrays.push(Arc::new(Int64Array::from_iter_values(updates.iter().map(|(_, _, diff)| *diff as i64))));
    Ok(arrays)
}

/// The rows of a read, checked: a negative multiplicity, which no file of rows can hold, is
/// an error.
fn listed<R: std::fmt::Debug>(rows: Vec<(R, Diff)>, name: &str, time: Time) -> Result<Vec<(R, Diff)>> {
    if let Some((row, diff)) = rows.iter().find(|(_, diff)| *diff < 0) {
        return Err(crate::read::plain::negative(row, *diff, name, time));
    }
    Ok(rows)
}

/// Chunks of at most `size` references to `rows`, each row repeated by its multiplicity (no
/// row is cloned).
fn chunks<R>(rows: &[(R, Diff)], size: usize) -> Vec<Vec<&R>> {
    let mut chunks = vec![Vec::new()];
    for (row, diff) in rows {
        for _ in 0..*diff {
            if chunks.last().is_some_and(|chunk| chunk.len() >= size) {
                chunks.push(Vec::new());
            }
            if let Some(chunk) = chunks.last_mut() {
                chunk.push(row);
            }
        }
    }
    chunks
}

/// The folder a partitioned write fills before it is renamed to `folder`; `folder` itself
/// must not exist or be empty.
fn staging_folder(folder: &Path) -> Result<PathBuf> {
    if let Ok(mut entries) = std::fs::read_dir(folder)
        && entries.next().is_some()
    {
        let error = std::io::Error::new(std::io::ErrorKind::AlreadyExists, "the folder is not empty");
        return Err(Error::io(format!("writing partitions into {}", folder.display()), error));
    }
    let name = folder.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let staging = folder.with_file_name(format!(".{name}.partial"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .map_err(|e| Error::io(format!("removing an unfinished write, {}", staging.display()), e))?;
    }
    std::fs::create_dir_all(&staging).map_err(|e| Error::io(format!("creating {}", staging.display()), e))?;
    Ok(staging)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_held_twice_are_listed_twice_in_chunks() {
        let rows = vec![("a", 2), ("b", 1), ("c", 3)];
        let chunked: Vec<Vec<&str>> =
            chunks(&rows, 4).into_iter().map(|c| c.into_iter().copied().collect()).collect();
        assert_eq!(chunked, [vec!["a", "a", "b", "c"], vec!["c", "c"]]);
        assert!(matches!(listed(vec![("a", -1)], "t", 3), Err(Error::NegativeMultiplicity { diff: -1, .. })));
    }
}

//! Parquet and CSV files (or folders of them) loaded into a table in one transaction.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::FieldRef;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, FileError, FileProblem, Result};
use crate::files::columns::{Columns, LayoutError, Shape};
use crate::files::conform::{Mismatch, check_schema, conform};
use crate::files::hive;
use crate::files::parquet_file::layout_error;
use crate::files::sources::Input;
use crate::time::Time;
use crate::transaction::Transaction;

/// What a load read and committed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Loaded {
    /// The files read, in the order they were read.
    pub files: Vec<PathBuf>,
    /// The rows read, over every file.
    pub rows: u64,
    /// The commit time of the load's one transaction.
    pub time: Time,
}

/// How CSV files are read.
///
/// ```
/// let options = ivm::files::CsvOptions::default().delimiter(b';');
/// # let _ = options;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    delimiter: u8,
    headers: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { delimiter: b',', headers: true }
    }
}

impl CsvOptions {
    /// The field delimiter (default `,`).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Whether the first line names the columns (default `true`). With names, columns are
    /// matched by name and their order does not matter; without, they are taken in the order
    /// of the row type's columns (see [the module](crate::files#columns)).
    pub fn headers(mut self, headers: bool) -> Self {
        self.headers = headers;
        self
    }
}

/// Loads the Parquet file `path`, or every `.parquet` file under the folder `path` (in the
/// order of their paths, hidden files left out), into `table` in one transaction, and commits
/// it: a bag table gets each row inserted, a keyed table each `(key, value)` upserted.
///
/// Columns are found by name (others are not read), and a column whose type differs from the
/// field's but converts (an `INTEGER` for an `i64`, a `LargeUtf8` for a `String`) is cast. In a
/// folder partitioned as Hive does (`shop=Lyon/part-0.parquet`, as
/// [`write_parquet_partitioned`](crate::files::write_parquet_partitioned), DuckDB and Spark
/// write), a column the files lack is taken from the folder names, parsed as the field's type.
/// Files are read a row group at a time: beyond the transaction's rows, memory holds one
/// batch. Any problem (a file that is not Parquet or is truncated, a missing column, a column
/// of the wrong type, a value that does not fit, a null where the field is not an `Option`)
/// fails with [`Error::File`] naming the file, and the row and column where it can, and
/// nothing is loaded.
pub fn load_parquet<S: Input>(table: &S, path: impl AsRef<Path>) -> Result<Loaded> {
    let columns = Columns::<S::Shape>::new().map_err(|e| layout_error(path.as_ref(), e))?;
    let files = files_under(path.as_ref(), "parquet")?;
    let mut transaction = table.transaction();
    let mut rows = 0;
    for file in &files {
        let partitions = hive::partitions_of(path.as_ref(), file);
        rows += read_parquet(table, &columns, file, &partitions, &mut transaction)?;
    }
    Ok(Loaded { files, rows, time: transaction.commit()? })
}

/// Loads the CSV file `path`, or every `.csv` file under the folder `path`, into `table` in
/// one transaction, as [`load_parquet`] does. Values are parsed as the row type's fields (an
/// empty value is `None` for an `Option`); columns are matched by the header line's names, or
/// by position without one (see [`CsvOptions`]). A record with a missing column, a value that
/// does not parse or a line with the wrong number of fields fails with [`Error::File`] naming
/// the file, row and column, and nothing is loaded. Read one record at a time.
pub fn load_csv<S: Input>(table: &S, path: impl AsRef<Path>, options: &CsvOptions) -> Result<Loaded> {
    let columns = Columns::<S::Shape>::new().map_err(|e| layout_error(path.as_ref(), e))?;
    let files = files_under(path.as_ref(), "csv")?;
    let mut transaction = table.transaction();
    let mut rows = 0;
    for file in &files {
        rows += read_csv(table, &columns, file, options, &mut transaction)?;
    }
    Ok(Loaded { files, rows, time: transaction.commit()? })
}

/// Reads one Parquet file into `into`. A column the file lacks is taken from its Hive folder
/// (`partitions`), if one names it.
fn read_parquet<S: Input>(
    table: &S,
    columns: &Columns<S::Shape>,
    path: &Path,
    partitions: &[(String, Option<String>)],
    into: &mut Transaction,
) -> Result<u64> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| malformed(path, e))?;
    let in_file = builder.schema().fields().iter().map(|field| field.name().clone()).collect::<Vec<_>>();
    let (from_folders, from_file): (Vec<FieldRef>, Vec<FieldRef>) =
        columns.fields().iter().cloned().partition(|field| {
            !in_file.contains(field.name()) && partitions.iter().any(|(c, _)| c == field.name())
        });
    check_schema(builder.schema(), &from_file).map_err(|m| mismatch(path, m))?;
    let wanted: Vec<usize> = columns
        .fields()
        .iter()
        .filter_map(|field| builder.schema().fields().iter().position(|found| found.name() == field.name()))
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
    let reader =
        builder.with_projection(mask).with_batch_size(64 * 1024).build().map_err(|e| malformed(path, e))?;
    let mut next_row = 1;
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| malformed(path, e))?;
        let batch = with_partitions(batch, &from_folders, partitions).map_err(|m| mismatch(path, m))?;
        let arrays = conform(&batch, columns.fields(), next_row).map_err(|m| mismatch(path, m))?;
        for row in decode(columns, &arrays, next_row, path)? {
            table.write(into, row);
        }
        next_row += batch.num_rows() as u64;
    }
    Ok(next_row - 1)
}

/// `batch` with a column for each of `fields`, every row holding its partition's value.
fn with_partitions(
    batch: RecordBatch,
    fields: &[FieldRef],
    partitions: &[(String, Option<String>)],
) -> std::result::Result<RecordBatch, Mismatch> {
    if fields.is_empty() {
        return Ok(batch);
    }
    let (schema, mut arrays, rows) = (batch.schema(), batch.columns().to_vec(), batch.num_rows());
    let mut all: Vec<FieldRef> = schema.fields().iter().cloned().collect();
    for field in fields {
        let value =
            partitions.iter().find(|(column, _)| column == field.name()).and_then(|(_, v)| v.as_deref());
        let column = hive::column(field, value, rows).map_err(|error| Mismatch {
            row: None,
            column: field.name().clone(),
            problem: FileProblem::BadValue(format!("the partition folder's value {value:?}: {error}")),
        })?;
        all.push(Arc::clone(field));
        arrays.push(column);
    }
    RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(all)), arrays).map_err(|error| Mismatch {
        row: None,
        column: fields[0].name().clone(),
        problem: FileProblem::BadValue(error.to_string()),
    })
}

/// The rows of `arrays`; if one does not decode (a string that names no variant of an enum),
/// the error names its row.
fn decode<S: Shape>(
    columns: &Columns<S>,
    arrays: &[ArrayRef],
    first_row: u64,
    path: &Path,
) -> Result<Vec<S::Row>> {
    columns.decode(arrays).map_err(|error| {
        let len = arrays.first().map_or(0, |array| array.len());
        let failing = (0..len).find(|&i| {
            let one: Vec<ArrayRef> = arrays.iter().map(|array| array.slice(i, 1)).collect();
            columns.decode(&one).is_err()
        });
        bad_value(path, failing.map(|i| first_row + i as u64), error)
    })
}

fn read_csv<S: Input>(
    table: &S,
    columns: &Columns<S::Shape>,
    path: &Path,
    options: &CsvOptions,
    into: &mut Transaction,
) -> Result<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .has_headers(options.headers)
        .from_path(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), into_io(e)))?;
    let headers = if options.headers {
        let headers = reader.headers().map_err(|e| csv_malformed(path, None, e))?.clone();
        if let Some(missing) =
            columns.csv_names().into_iter().find(|name| !headers.iter().any(|h| h == *name))
        {
            return Err(mismatch(
                path,
                Mismatch { row: None, column: missing.to_string(), problem: FileProblem::MissingColumn },
            ));
        }
        Some(headers)
    } else {
        None
    };
    let mut record = csv::StringRecord::new();
    let mut rows = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(rows),
            Ok(true) => {}
            Err(error) => return Err(csv_malformed(path, Some(rows + 1), error)),
        }
        rows += 1;
        let row = columns
            .row_from_csv(&record, headers.as_ref())
            .map_err(|error| bad_value(path, Some(rows), error))?;
        table.write(into, row);
    }
}

/// `path` itself if it is a file, else every file under it ending in `.extension`, sorted.
fn files_under(path: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    let metadata =
        std::fs::metadata(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut folders = vec![path.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries =
            std::fs::read_dir(&folder).map_err(|e| Error::io(format!("listing {}", folder.display()), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("listing {}", folder.display()), e))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case(extension)) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn mismatch(path: &Path, mismatch: Mismatch) -> Error {
    Error::File(FileError {
        path: path.to_path_buf(),
        row: mismatch.row,
        column: Some(mismatch.column),
        problem: mismatch.problem,
    })
}

/// A value of row `row` that could not be read as the row type's field. (A column missing
/// from the header line is found before any row is read.)
fn bad_value(path: &Path, row: Option<u64>, error: LayoutError) -> Error {
    let problem = FileProblem::BadValue(error.message);
    Error::File(FileError { path: path.to_path_buf(), row, column: error.column, problem })
}

fn malformed(path: &Path, error: impl ToString) -> Error {
    Error::File(FileError {
        path: path.to_path_buf(),
        row: None,
        column: None,
        problem: FileProblem::Malformed(error.to_string()),
    })
}

/// A CSV error that is not about one value: an I/O error, or a malformed line.
fn csv_malformed(path: &Path, row: Option<u64>, error: csv::Error) -> Error {
    if error.is_io_error() {
        return Error::io(format!("reading {}", path.display()), into_io(error));
    }
    Error::File(FileError {
        path: path.to_path_buf(),
        row,
        column: None,
        problem: FileProblem::Malformed(error.to_string()),
    })
}

fn into_io(error: csv::Error) -> std::io::Error {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

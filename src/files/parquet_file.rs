//! Writing one Parquet file safely: into a hidden file beside it, synced, then renamed, so
//! that a reader (or a crash) never sees half a file under the final name.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{FieldRef, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowRowGroupWriterFactory;
use parquet::basic::{Compression as Codec, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

use crate::error::{Error, FileError, FileProblem, Result};
use crate::files::columns::LayoutError;
use crate::files::row_group::RowGroup;

/// How Parquet files are written: compression, row group size, and the names of the columns a
/// change or history file adds to the row's.
///
/// ```
/// use ivm::files::{Compression, ParquetOptions};
/// let options = ParquetOptions::default().compression(Compression::Zstd).time_column("ts");
/// # let _ = options;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetOptions {
    compression: Compression,
    row_group_rows: usize,
    time_column: String,
    diff_column: String,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            compression: Compression::Snappy,
            row_group_rows: 1 << 20,
            time_column: "time".into(),
            diff_column: "diff".into(),
        }
    }
}

impl ParquetOptions {
    /// The compression of the column chunks (default [`Compression::Snappy`], as DuckDB and
    /// Spark write).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Rows per row group (default 1,048,576). At least 1.
    pub fn row_group_rows(mut self, rows: usize) -> Self {
        self.row_group_rows = rows.max(1);
        self
    }

    /// The name of the commit-time column of change and history files (default `time`).
    pub fn time_column(mut self, name: impl Into<String>) -> Self {
        self.time_column = name.into();
        self
    }

    /// The name of the multiplicity column of change and history files (default `diff`).
    pub fn diff_column(mut self, name: impl Into<String>) -> Self {
        self.diff_column = name.into();
        self
    }

    /// How many rows are encoded into Arrow arrays at a time (the writer gathers them into
    /// row groups): small enough for encoding and writing to overlap, large enough to amortize.
    pub(crate) fn rows_per_batch(&self) -> usize {
        self.row_group_rows.min(64 * 1024)
    }

    /// The `time` (`UInt64`) and `diff` (`Int64`) columns of change and history files.
    pub(crate) fn change_fields(&self) -> [FieldRef; 2] {
        use arrow_schema::{DataType, Field};
        [
            Arc::new(Field::new(&self.time_column, DataType::UInt64, false)),
            Arc::new(Field::new(&self.diff_column, DataType::Int64, false)),
        ]
    }

    fn properties(&self) -> WriterProperties {
        let codec = match self.compression {
            Compression::None => Codec::UNCOMPRESSED,
            Compression::Snappy => Codec::SNAPPY,
            Compression::Zstd => Codec::ZSTD(ZstdLevel::default()),
            Compression::Lz4 => Codec::LZ4_RAW,
        };
        WriterProperties::builder()
            .set_compression(codec)
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .build()
    }
}

/// The compression of a Parquet file's column chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// None.
    None,
    /// Snappy: fast, what most writers use.
    Snappy,
    /// Zstandard at its default level: smaller files, slower writes.
    Zstd,
    /// LZ4 (the raw LZ4 of current Parquet).
    Lz4,
}

/// What a write produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Written {
    /// The files written, in the order they were finished.
    pub files: Vec<PathBuf>,
    /// The rows written (a row held twice is written twice), over every file.
    pub rows: u64,
    /// The bytes written, over every file.
    pub bytes: u64,
}

/// One Parquet file being written under a hidden name beside its final one, a row group at a
/// time, each row group's columns encoded in parallel ([`RowGroup`]).
pub(crate) struct ParquetFile {
    writer: SerializedFileWriter<File>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// The row group being filled.
    group: Option<RowGroup>,
    groups: usize,
    row_group_rows: usize,
    partial: PathBuf,
    path: PathBuf,
    rows: u64,
}

impl ParquetFile {
    /// Starts `path` with the columns `fields`.
    pub(crate) fn create(
        path: &Path,
        fields: Vec<FieldRef>,
        options: &ParquetOptions,
    ) -> Result<ParquetFile> {
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let partial = path.with_file_name(format!(".{name}.partial"));
        let file =
            File::create(&partial).map_err(|e| Error::io(format!("creating {}", partial.display()), e))?;
        let schema = Arc::new(Schema::new(fields));
        // `ArrowWriter` records the Arrow schema in the file's metadata (so readers get back
        // unsigned integers and the like); its parts then write row groups column by column.
        let (writer, factory) = ArrowWriter::try_new(file, Arc::clone(&schema), Some(options.properties()))
            .and_then(ArrowWriter::into_serialized_writer)
            .map_err(|e| layout_error(path, LayoutError::new(e)))?;
        Ok(ParquetFile {
            writer,
            factory,
            schema,
            group: None,
            groups: 0,
            row_group_rows: options.row_group_rows,
            partial,
            path: path.to_path_buf(),
            rows: 0,
        })
    }

    /// Appends rows given as one array per column.
    pub(crate) fn append(&mut self, columns: Vec<ArrayRef>) -> Result<()> {
        // Checks the arrays against the schema (types, lengths), as a record batch does.
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|e| layout_error(&self.path, LayoutError::new(e)))?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows() as u64;
        let group = match self.group.as_mut() {
            Some(group) => group,
            None => {
                let group =
                    RowGroup::start(&self.factory, self.groups).map_err(|e| parquet_io(&self.path, e))?;
                self.group.insert(group)
            }
        };
        group.write(self.schema.fields(), batch.columns()).map_err(|e| parquet_io(&self.path, e))?;
        if group.rows() >= self.row_group_rows {
            self.close_group()?;
        }
        Ok(())
    }

    /// Writes the row group being filled, if any.
    fn close_group(&mut self) -> Result<()> {
        if let Some(group) = self.group.take() {
            group.finish(&mut self.writer).map_err(|e| parquet_io(&self.path, e))?;
            self.groups += 1;
        }
        Ok(())
    }

    /// Appends every chunk, each encoded by `encode` on a helper thread while the one before it
    /// is written on this one. Stops at the first error.
    pub(crate) fn append_all<C: Sync>(
        &mut self,
        chunks: &[C],
        encode: impl Fn(&C) -> Result<Vec<ArrayRef>> + Sync,
    ) -> Result<()> {
        if chunks.len() < 2 {
            return chunks.iter().try_for_each(|chunk| self.append(encode(chunk)?));
        }
        std::thread::scope(|scope| {
            let (encoded, arrive) = std::sync::mpsc::sync_channel(1);
            let encode = &encode;
            scope.spawn(move || {
                for chunk in chunks {
                    let arrays = encode(chunk);
                    let failed = arrays.is_err();
                    if encoded.send(arrays).is_err() || failed {
                        break;
                    }
                }
            });
            // Returning early drops `arrive`, which ends the helper at its next send.
            arrive.into_iter().try_for_each(|arrays| self.append(arrays?))
        })
    }

    /// Finishes the file: footer written, synced, renamed to its final name. Returns its rows
    /// and bytes.
    pub(crate) fn finish(mut self) -> Result<(PathBuf, u64, u64)> {
        self.close_group()?;
        self.writer.finish().map_err(|e| parquet_io(&self.path, e))?;
        let file = self.writer.inner();
        file.sync_all().map_err(|e| Error::io(format!("syncing {}", self.partial.display()), e))?;
        let bytes = file.metadata().map_err(|e| Error::io("writing a Parquet file", e))?.len();
        std::fs::rename(&self.partial, &self.path)
            .map_err(|e| Error::io(format!("renaming {} to its final name", self.partial.display()), e))?;
        sync_folder(&self.path)?;
        Ok((self.path.clone(), self.rows, bytes))
    }
}

impl Drop for ParquetFile {
    fn drop(&mut self) {
        // Unfinished (an error on the way): no half file is left behind. After `finish` the
        // hidden name is gone already.
        let _ = std::fs::remove_file(&self.partial);
    }
}

/// Syncs the folder holding `path`, so that a rename into it survives a crash.
pub(crate) fn sync_folder(path: &Path) -> Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(folder)
        .and_then(|folder| folder.sync_all())
        .map_err(|e| Error::io(format!("syncing the folder {}", folder.display()), e))
}

/// A row type that cannot be laid out (or a write Arrow refuses), for the file `path`.
pub(crate) fn layout_error(path: &Path, error: LayoutError) -> Error {
    Error::File(FileError {
        path: path.to_path_buf(),
        row: None,
        column: error.column,
        problem: FileProblem::Layout(error.message),
    })
}

/// Parquet's error while writing `path`: an I/O error where it was one, else the layout.
fn parquet_io(path: &Path, error: parquet::errors::ParquetError) -> Error {
    match error {
        parquet::errors::ParquetError::External(inner) => match inner.downcast::<std::io::Error>() {
            Ok(io) => Error::io(format!("writing {}", path.display()), *io),
            Err(other) => layout_error(path, LayoutError::new(other)),
        },
        other => layout_error(path, LayoutError::new(other)),
    }
}

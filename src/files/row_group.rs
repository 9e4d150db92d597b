//! One Parquet row group, its columns encoded and compressed on several threads at once (as
//! `parquet`'s own `ArrowColumnWriter` documentation shows): a file of a few columns is written
//! about as many times faster as there are cores, where `ArrowWriter` encodes one column after
//! another.

use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

use arrow_array::ArrayRef;
use arrow_schema::Fields;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::errors::{ParquetError, Result};
use parquet::file::writer::SerializedFileWriter;

/// A leaf column's data, numbered by its place among the file's leaves.
type Leaf = (usize, ArrowLeafColumn);

/// What a column thread gives back: each of its leaves' finished chunk, numbered.
type Chunks = Result<Vec<(usize, ArrowColumnChunk)>>;

/// The threads of a row group: each owns some of its column writers (leaf `i` goes to thread
/// `i % threads`) and encodes the leaves sent to it.
pub(crate) struct RowGroup {
    threads: Vec<(Sender<Leaf>, JoinHandle<Chunks>)>,
    rows: usize,
}

impl RowGroup {
    /// Starts row group `index` of the file `factory` writes for.
    pub(crate) fn start(factory: &ArrowRowGroupWriterFactory, index: usize) -> Result<RowGroup> {
        let writers = factory.create_column_writers(index)?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let count = writers.len().clamp(1, cores);
        let mut owned: Vec<Vec<(usize, ArrowColumnWriter)>> = (0..count).map(|_| Vec::new()).collect();
        for (leaf, writer) in writers.into_iter().enumerate() {
            owned[leaf % count].push((leaf, writer));
        }
        let mut threads = Vec::with_capacity(count);
        for mut writers in owned {
            let (send, receive) = channel::<Leaf>();
            let thread = std::thread::Builder::new()
                .name("ivm-parquet".into())
                .spawn(move || {
                    for (leaf, column) in receive {
                        if let Some((_, writer)) = writers.iter_mut().find(|(own, _)| *own == leaf) {
                            writer.write(&column)?;
                        }
                    }
                    writers.into_iter().map(|(leaf, writer)| Ok((leaf, writer.close()?))).collect()
                })
                .map_err(|e| ParquetError::External(Box::new(e)))?;
            threads.push((send, thread));
        }
        Ok(RowGroup { threads, rows: 0 })
    }

    /// The rows written so far.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Sends each column of `arrays` (of the file's top-level `fields`) to its thread.
    pub(crate) fn write(&mut self, fields: &Fields, arrays: &[ArrayRef]) -> Result<()> {
        let mut leaf = 0;
        for (field, array) in fields.iter().zip(arrays) {
            for column in compute_leaves(field, array)? {
                let (send, _) = &self.threads[leaf % self.threads.len()];
                // A thread that stopped on an error reports it when the group finishes.
                let _ = send.send((leaf, column));
                leaf += 1;
            }
        }
        self.rows += arrays.first().map_or(0, |array| array.len());
        Ok(())
    }

    /// Waits for every column's chunk and appends them, in column order, to `file` as its next
    /// row group.
    pub(crate) fn finish<W: std::io::Write + Send>(self, file: &mut SerializedFileWriter<W>) -> Result<()> {
        let mut chunks = Vec::new();
        for (send, thread) in self.threads {
            drop(send);
            let done = thread.join().map_err(|_| ParquetError::General("a column writer panicked".into()))?;
            chunks.extend(done?);
        }
        chunks.sort_by_key(|(leaf, _)| *leaf);
        let mut group = file.next_row_group()?;
        for (_, chunk) in chunks {
            chunk.append_to_row_group(&mut group)?;
        }
        group.close()?;
        Ok(())
    }
}

//! The batcher behind the engine's own arrangements: differential's merge batcher, with a
//! merger that moves runs of updates already in order whole instead of one update at a time.
//!
//! Differential's `VecMerger` merges two sorted chains by comparing and moving every update,
//! and the merge batcher merges each update about `log2(updates / chunk)` times; extracting
//! moves every update once more. That is the cost of arranging input in arbitrary order, and
//! it is paid the same when the input is already sorted: a table restored from a checkpoint
//! (whose rows were written in the arrangement's own order), or rows loaded in key order.
//! [`RunMerger`] checks each chunk's ends first:
//! - **merging**: while the front chunk of one chain ends before the other chain's front
//!   begins, that chunk moves to the output as it is; only overlapping chunks are merged
//!   update by update (by differential's own `VecMerger`);
//! - **extracting**: a chunk whose times are all before `upper` ships whole, one whose times
//!   are all at or after it is kept whole; only a chunk holding both is split.
//!
//! On sorted input a chain of chunks is then built and extracted by moving chunks, and only
//! the chunker's sort (which finds a sorted chunk sorted in one pass) touches each update. On
//! unsorted input a merge checks two pairs of updates per chunk it meets, and an extract reads
//! each update's time once before moving it, where `VecMerger` reads it once while moving it.

use std::collections::VecDeque;

use differential_dataflow::VecCollection;
use differential_dataflow::batcher::merge::chunker::ContainerChunker;
use differential_dataflow::batcher::merge::vec::VecMerger;
use differential_dataflow::batcher::merge::{Extractor, MergeBatcher, Merger};
use differential_dataflow::difference::Semigroup;
use differential_dataflow::operators::arrange::Arranged;
use differential_dataflow::trace::implementations::ord_neu::{VecOrdKeyBuilder, VecOrdValBuilder};
use timely::PartialOrder;
use timely::progress::frontier::{Antichain, AntichainRef};

use super::layout::{KeyedTrace, RowTrace};
use crate::row::Row;
use crate::time::{Diff, Time};

/// Arranges `rows` by the whole row, as `arrange_by_self_named` does, with [`RowBatcher`].
pub(crate) fn arrange_rows<'s, R: Row>(
    rows: VecCollection<'s, Time, R, Diff>,
    name: &str,
) -> Arranged<'s, RowTrace<R>> {
    rows.map(|row| (row, ())).arrange_named::<RowBatcher<R>, _>(name, RowBatcher::new)
}

/// Arranges `pairs` by key, as `arrange_by_key_named` does, with [`KeyedBatcher`].
pub(crate) fn arrange_keyed<'s, K: Row, V: Row>(
    pairs: VecCollection<'s, Time, (K, V), Diff>,
    name: &str,
) -> Arranged<'s, KeyedTrace<K, V>> {
    pairs.arrange_named::<KeyedBatcher<K, V>, _>(name, KeyedBatcher::new)
}

/// The batcher of an arrangement by the whole row (`arrange_by_self`'s, with [`RunMerger`]).
pub(crate) type RowBatcher<R> = MergeBatcher<
    ContainerChunker<Vec<((R, ()), Time, Diff)>>,
    RunMerger<(R, ()), Time, Diff>,
    VecOrdKeyBuilder<R, Time, Diff>,
>;

/// The batcher of an arrangement by key (`arrange_by_key`'s, with [`RunMerger`]).
pub(crate) type KeyedBatcher<K, V> = MergeBatcher<
    ContainerChunker<Vec<((K, V), Time, Diff)>>,
    RunMerger<(K, V), Time, Diff>,
    VecOrdValBuilder<K, V, Time, Diff>,
>;

/// A merger of sorted chains of `Vec<(data, time, diff)>` chunks that moves whole chunks where
/// their ranges do not overlap, and otherwise merges as differential's `VecMerger` does.
pub(crate) struct RunMerger<D, T, R> {
    updates: VecMerger<D, T, R>,
}

impl<D, T, R> Default for RunMerger<D, T, R> {
    fn default() -> Self {
        RunMerger { updates: VecMerger::default() }
    }
}

/// Whether every update of `first` sorts before every update of `second` (both sorted and
/// consolidated, so equal `(data, time)` pairs would have to be added up: not before).
fn ends_before<D: Ord, T: Ord, R>(first: &[(D, T, R)], second: &[(D, T, R)]) -> bool {
    match (first.last(), second.first()) {
        (Some((d1, t1, _)), Some((d2, t2, _))) => (d1, t1) < (d2, t2),
        _ => true,
    }
}

impl<D, T, R> Merger for RunMerger<D, T, R>
where
    D: Ord + Clone + 'static,
    T: Ord + Clone + PartialOrder + 'static,
    R: Semigroup + 'static,
{
    type Chunk = Vec<(D, T, R)>;

    fn merge(
        &mut self,
        list1: Vec<Self::Chunk>,
        list2: Vec<Self::Chunk>,
        output: &mut Vec<Self::Chunk>,
        stash: &mut Vec<Self::Chunk>,
    ) {
        let mut list1 = VecDeque::from(list1);
        let mut list2 = VecDeque::from(list2);
        // Move whole chunks while the two fronts do not overlap.
        while let (Some(front1), Some(front2)) = (list1.front(), list2.front()) {
            let moved = if ends_before(front1, front2) {
                list1.pop_front()
            } else if ends_before(front2, front1) {
                list2.pop_front()
            } else {
                break;
            };
            output.extend(moved.filter(|chunk| !chunk.is_empty()));
        }
        if list1.is_empty() || list2.is_empty() {
            output.extend(list1.into_iter().chain(list2).filter(|chunk| !chunk.is_empty()));
        } else {
            self.updates.merge(list1.into(), list2.into(), output, stash);
        }
    }

    fn len(chunk: &Self::Chunk) -> usize {
        chunk.len()
    }
}

impl<D, T, R> Extractor for RunMerger<D, T, R>
where
    D: Ord + Clone + 'static,
    T: Ord + Clone + PartialOrder + 'static,
    R: Semigroup + 'static,
{
    type Time = T;

    fn extract(
        &mut self,
        merged: Vec<Self::Chunk>,
        upper: AntichainRef<T>,
        frontier: &mut Antichain<T>,
        ship: &mut Vec<Self::Chunk>,
        kept: &mut Vec<Self::Chunk>,
        stash: &mut Vec<Self::Chunk>,
    ) {
        // Runs of chunks that neither ship nor stay whole are split by `VecMerger`, which keeps
        // their order; whole chunks go between them in order too.
        let mut mixed: Vec<Self::Chunk> = Vec::new();
        for chunk in merged {
            let ready = chunk.iter().filter(|(_, time, _)| !upper.less_equal(time)).count();
            if ready != 0 && ready != chunk.len() {
                mixed.push(chunk);
                continue;
            }
            if !mixed.is_empty() {
                self.updates.extract(std::mem::take(&mut mixed), upper, frontier, ship, kept, stash);
            }
            if ready == chunk.len() {
                ship.push(chunk);
            } else {
                for (_, time, _) in chunk.iter() {
                    frontier.insert_with(time, |time| time.clone());
                }
                kept.push(chunk);
            }
        }
        if !mixed.is_empty() {
            self.updates.extract(mixed, upper, frontier, ship, kept, stash);
        }
    }
}

#[cfg(test)]
mod tests {
    use differential_dataflow::batcher::merge::chunker::ContainerChunker;
    use differential_dataflow::batcher::merge::vec::VecMerger;
    use differential_dataflow::batcher::merge::{MergeBatcher, Sealer};
    use differential_dataflow::batcher::{Batcher as _, Extract as _};
    use std::marker::PhantomData;

    use quickcheck::{QuickCheck, TestResult};
    use timely::progress::Antichain;

    use super::RunMerger;

    type Update = (u8, u8, i64);
    /// Containers of small updates, each to be sorted before it goes in or not.
    type Containers = Vec<(Vec<(u8, u8, i8)>, bool)>;

    /// Seals a chain of updates `U` by handing them back in order, so that two batchers'
    /// outputs compare update by update.
    struct Chain<U>(PhantomData<U>);

    impl<U> Sealer<Vec<U>> for Chain<U> {
        type Output = Vec<U>;

        fn seal(chain: &mut Vec<Vec<U>>) -> Option<Vec<U>> {
            (!chain.is_empty()).then(|| chain.drain(..).flatten().collect())
        }
    }

    type Ours = MergeBatcher<ContainerChunker<Vec<Update>>, RunMerger<u8, u8, i64>, Chain<Update>>;
    type Differentials = MergeBatcher<ContainerChunker<Vec<Update>>, VecMerger<u8, u8, i64>, Chain<Update>>;

    /// Feeds both batchers the same containers (each sorted when `sorted` says so, to take the
    /// merger's whole-chunk paths) and extracts at the same uppers: every batch and every
    /// frontier must be the ones differential's own merger gives.
    fn same_batches(containers: Containers, uppers: Vec<u8>) -> TestResult {
        let mut ours = Ours::new(None, 0);
        let mut theirs = Differentials::new(None, 0);
        let mut uppers = uppers.into_iter();
        let mut upper = 0u8;
        for (container, sorted) in containers {
            let mut container: Vec<Update> =
                container.into_iter().map(|(d, t, r)| (d, t, r.into())).collect();
            if sorted {
                container.sort();
            }
            // Times at or after the last upper only, as an arrangement's input guarantees.
            for update in container.iter_mut() {
                update.1 = update.1.max(upper);
            }
            ours.insert(&mut container.clone());
            theirs.insert(&mut container);
            if let Some(next) = uppers.next() {
                upper = upper.max(next);
                let frontier = Antichain::from_elem(upper);
                let (ours_batch, ours_lower) = ours.extract(frontier.borrow());
                let ours_lower = ours_lower.to_owned();
                let (theirs_batch, theirs_lower) = theirs.extract(frontier.borrow());
                if ours_batch != theirs_batch || ours_lower != theirs_lower.to_owned() {
                    return TestResult::failed();
                }
            }
        }
        let (ours_batch, _) = ours.extract(Antichain::new().borrow());
        let (theirs_batch, _) = theirs.extract(Antichain::new().borrow());
        TestResult::from_bool(ours_batch == theirs_batch)
    }

    #[test]
    fn a_run_merger_batches_what_differentials_merger_batches() {
        QuickCheck::new().tests(2_000).quickcheck(same_batches as fn(Containers, Vec<u8>) -> TestResult);
    }

    #[test]
    fn sorted_containers_larger_than_a_chunk_come_out_whole_and_in_order() {
        // Many chunks of sorted input, with a second sorted run over the same keys: the chunks
        // of each run move whole, the overlap is merged, and the sums are exact.
        let run =
            |shift: u32| (0..100_000u32).map(move |i| (i * 2 + shift, 1u32, 1isize)).collect::<Vec<_>>();
        type Wide = (u32, u32, isize);
        let mut ours =
            MergeBatcher::<ContainerChunker<Vec<Wide>>, RunMerger<u32, u32, isize>, Chain<Wide>>::new(
                None, 0,
            );
        for shift in [0, 1, 0] {
            ours.insert(&mut run(shift));
        }
        let (batch, lower) = ours.extract(Antichain::from_elem(2).borrow());
        let batch = batch.expect("every update is before 2");
        assert!(lower.is_empty());
        let mut expected: Vec<Wide> =
            (0..200_000u32).map(|k| (k, 1, if k % 2 == 0 { 2 } else { 1 })).collect();
        expected.sort();
        assert_eq!(batch, expected);
    }
}

//! One operator with two outputs: each record of a collection becomes any number of values
//! and errors, sent apart. SQL's row-at-a-time work ends in it (a row becomes rows or an
//! error), so a chain of such steps costs one operator, where a `flat_map` of `Result`s
//! followed by timely's `partition` and a `flat_map` per part cost four, with each row copied
//! through each.

use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::progress::Timestamp;
use timely::progress::operate::FrontierInterest;

use crate::time::Diff;

/// Each record of `input` passed to `logic` with a sink: every `Ok` given to the sink is a
/// record of the first collection, every `Err` one of the second, each at the input record's
/// time and with its multiplicity.
pub(crate) fn fork<'s, T, D, A, B>(
    input: VecCollection<'s, T, D, Diff>,
    name: &str,
    mut logic: impl FnMut(D, &mut dyn FnMut(Result<A, B>)) + 'static,
) -> (VecCollection<'s, T, A, Diff>, VecCollection<'s, T, B, Diff>)
where
    T: Timestamp,
    D: Clone + 'static,
    A: Clone + 'static,
    B: Clone + 'static,
{
    let mut builder = OperatorBuilder::new(name.to_owned(), input.inner.scope());
    let mut records = builder.new_input(input.inner, Pipeline);
    builder.set_notify_for(0, FrontierInterest::Never);
    let (values, value_stream) = builder.new_output();
    let (errors, error_stream) = builder.new_output();
    let (mut values, mut errors) = (OutputBuilder::from(values), OutputBuilder::from(errors));
    builder.build(move |_capabilities| {
        move |_frontiers| {
            let (mut values, mut errors) = (values.activate(), errors.activate());
            records.for_each_stamp(|capability, containers| {
                let mut values = values.session(&capability);
                let mut errors = errors.session(&capability);
                for container in containers {
                    for (record, time, diff) in container.drain(..) {
                        logic(record, &mut |result| match result {
                            Ok(value) => values.give((value, time.clone(), diff)),
                            Err(error) => errors.give((error, time.clone(), diff)),
                        });
                    }
                }
            });
        }
    });
    (value_stream.as_collection(), error_stream.as_collection())
}

/// A collection of results apart: the values, and the errors (`route` says which a record is).
pub(crate) fn apart<'s, T, D, A, B>(
    mixed: VecCollection<'s, T, D, Diff>,
    route: impl Fn(D) -> Result<A, B> + 'static,
) -> (VecCollection<'s, T, A, Diff>, VecCollection<'s, T, B, Diff>)
where
    T: Timestamp,
    D: Clone + 'static,
    A: Clone + 'static,
    B: Clone + 'static,
{
    fork(mixed, "Apart", move |record, sink| sink(route(record)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use timely::dataflow::ProbeHandle;
    use timely::dataflow::operators::capture::{Capture, Extract};
    use timely::dataflow::operators::{Input, Probe};

    /// Each number becomes that many copies of itself, and multiples of 3 an error as well:
    /// both outputs keep each record's time and multiplicity.
    #[test]
    fn each_record_becomes_its_values_and_errors_at_its_time_with_its_multiplicity() {
        let (values, errors) = timely::execute_directly(|worker| {
            let (mut input, probe, values, errors) = worker.dataflow::<u64, _, _>(|scope| {
                let (input, stream) = scope.new_input::<Vec<(u64, u64, Diff)>>();
                let (values, errors) = fork(stream.as_collection(), "Test", |n: u64, sink| {
                    (0..n).for_each(|_| sink(Ok(n)));
                    if n.is_multiple_of(3) {
                        sink(Err(format!("{n}")));
                    }
                });
                let probe = ProbeHandle::new();
                let values = values.inner.probe_with(&probe).capture();
                (input, probe, values, errors.inner.capture())
            });
            input.send((2, 0, 1));
            input.send((3, 0, -1));
            input.advance_to(5);
            input.send((1, 5, 4));
            input.close();
            worker.step_while(|| !probe.done());
            (values, errors)
        });
        let mut values: Vec<_> = values.extract().into_iter().flat_map(|(_, v)| v).collect();
        values.sort();
        assert_eq!(values, vec![(1, 5, 4), (2, 0, 1), (2, 0, 1), (3, 0, -1), (3, 0, -1), (3, 0, -1)]);
        let errors: Vec<_> = errors.extract().into_iter().flat_map(|(_, e)| e).collect();
        assert_eq!(errors, vec![("3".to_string(), 0, -1)]);
    }
}

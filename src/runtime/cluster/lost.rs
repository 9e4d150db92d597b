//! Noticing that another process of the cluster is gone.
//!
//! Timely's network threads panic with a message starting "timely communication error:" when
//! a connection breaks (its own documentation asks users to catch this in a panic hook). The
//! hook installed here, once per process, marks every running cluster engine of this process
//! failed with [`Error::PeerLost`] and wakes its workers, which answer every pending call with
//! that error; then it calls the hook that was installed before it (which prints the message).

use std::sync::{Mutex, Once, Weak};

use crate::error::Error;
use crate::runtime::health::Health;

/// The prefix of timely's network-thread panics.
const PREFIX: &str = "timely communication error";

static ENGINES: Mutex<Vec<Weak<Health>>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

/// Makes `health`'s engine fail with [`Error::PeerLost`] if a connection of this process breaks.
pub(crate) fn watch(health: Weak<Health>) {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = crate::runtime::health::panic_message(info.payload());
            if message.starts_with(PREFIX) {
                let engines = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
                for health in engines.iter().filter_map(Weak::upgrade) {
                    health.fail_with(Error::PeerLost { reason: message.clone() });
                }
            }
            previous(info);
        }));
    });
    let mut engines = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    engines.retain(|health| health.strong_count() > 0);
    engines.push(health);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_broken_connection_fails_every_watched_engine_of_the_process() {
        let first = Arc::new(Health::default());
        let gone = Arc::new(Health::default());
        let second = Arc::new(Health::default());
        watch(Arc::downgrade(&first));
        watch(Arc::downgrade(&gone));
        drop(gone);
        // Registering another engine forgets the dropped one, and only that one.
        watch(Arc::downgrade(&second));
        let live = ENGINES.lock().unwrap().iter().filter(|health| health.strong_count() > 0).count();
        assert_eq!(ENGINES.lock().unwrap().len(), live, "no dropped engine is kept");
        let other = std::thread::spawn(|| panic!("some other panic")).join();
        assert!(other.is_err());
        assert_eq!((first.failure(), second.failure()), (None, None), "other panics are not peer losses");
        let lost = std::thread::spawn(|| panic!("{PREFIX}: connection reset")).join();
        assert!(lost.is_err());
        for health in [&first, &second] {
            assert!(matches!(health.failure(), Some(Error::PeerLost { reason }) if reason.contains("reset")));
        }
    }
}

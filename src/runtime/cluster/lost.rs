//! Noticing that another process of the cluster is gone.
//!
//! Timely's network threads panic with a message starting "timely communication error:" when
//! a connection breaks (its own documentation asks users to catch this in a panic hook). The
//! hook installed here, once per process, finds the engine whose network thread panicked
//! (each engine records its network threads' ids as they start, see
//! [`NetworkThreads`]), marks that engine failed with [`Error::PeerLost`] and wakes its
//! workers, which answer every pending call with that error; then it calls the hook that was
//! installed before it (which prints the message). Other cluster engines of the same process,
//! connected to other peers, keep running.

use std::sync::{Mutex, Once, Weak};

use crate::error::Error;
use crate::runtime::cluster::connect::NetworkThreads;
use crate::runtime::health::Health;

/// The prefix of timely's network-thread panics.
const PREFIX: &str = "timely communication error";

/// A running cluster engine of this process and its network threads.
struct Watched {
    health: Weak<Health>,
    network: NetworkThreads,
}

static ENGINES: Mutex<Vec<Watched>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

/// Makes `health`'s engine fail with [`Error::PeerLost`] if one of its `network` threads
/// reports a broken connection.
pub(crate) fn watch(health: Weak<Health>, network: NetworkThreads) {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = crate::runtime::health::panic_message(info.payload());
            if message.starts_with(PREFIX) {
                let thread = std::thread::current().id();
                let engines = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
                let owners = engines.iter().filter(|watched| {
                    watched.network.lock().unwrap_or_else(|e| e.into_inner()).contains(&thread)
                });
                for health in owners.filter_map(|watched| watched.health.upgrade()) {
                    health.fail_with(Error::PeerLost { reason: message.clone() });
                }
            }
            previous(info);
        }));
    });
    let mut engines = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    engines.retain(|watched| watched.health.strong_count() > 0);
    engines.push(Watched { health, network });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Panics with `message` on a new thread counted among `network`'s threads.
    fn panic_on_a_network_thread(network: &NetworkThreads, message: &'static str) {
        let network = Arc::clone(network);
        let panicked = std::thread::spawn(move || {
            network.lock().unwrap().push(std::thread::current().id());
            panic!("{message}")
        })
        .join();
        assert!(panicked.is_err());
    }

    #[test]
    fn a_broken_connection_fails_the_engine_whose_network_thread_it_was() {
        let (first, second) = (Arc::new(Health::default()), Arc::new(Health::default()));
        let (first_network, second_network) = (NetworkThreads::default(), NetworkThreads::default());
        let gone = Arc::new(Health::default());
        watch(Arc::downgrade(&first), Arc::clone(&first_network));
        watch(Arc::downgrade(&gone), NetworkThreads::default());
        drop(gone);
        // Registering another engine forgets the dropped one, and only that one.
        watch(Arc::downgrade(&second), Arc::clone(&second_network));
        let engines = ENGINES.lock().unwrap();
        assert!(engines.iter().all(|watched| watched.health.strong_count() > 0), "no dropped engine is kept");
        assert_eq!(engines.iter().filter(|watched| Arc::ptr_eq(&watched.network, &first_network)).count(), 1);
        drop(engines);
        let other = std::thread::spawn(|| panic!("some other panic")).join();
        assert!(other.is_err());
        // A communication error on a thread no engine owns (another library's timely) is not ours.
        let stranger = std::thread::spawn(|| panic!("{PREFIX}: elsewhere")).join();
        assert!(stranger.is_err());
        assert_eq!((first.failure(), second.failure()), (None, None), "not a peer loss of theirs");
        panic_on_a_network_thread(&first_network, "timely communication error: connection reset");
        assert!(matches!(first.failure(), Some(Error::PeerLost { reason }) if reason.contains("reset")));
        assert_eq!(second.failure(), None, "another engine's connections are intact");
        panic_on_a_network_thread(&second_network, "timely communication error: socket closed");
        assert!(matches!(second.failure(), Some(Error::PeerLost { reason }) if reason.contains("closed")));
    }
}

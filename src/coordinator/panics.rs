//! The process-wide panic hook: a panic on an engine's thread stops that engine at once.
//!
//! Installed once per process, the first time an engine starts. It looks at the thread that
//! panicked, before anything on it unwinds:
//! - **one of an engine's worker threads** (user view code, say): that engine is poisoned with
//!   the panic's message right away, so the call that sees the worker go (a reply channel that
//!   closes while it unwinds) and every call after it return [`Error::WorkerPanicked`], never
//!   [`Error::Shutdown`] and never `Ok`;
//! - **one of a cluster engine's network threads**: timely's network threads panic with a
//!   message starting "timely communication error:" when a connection breaks (its own
//!   documentation asks users to catch this in a panic hook), and that engine fails with
//!   [`Error::PeerLost`]; other cluster engines of the process, connected to other peers, keep
//!   running.
//!
//! Then it calls the hook that was installed before it (which prints the message). An
//! application that replaces the hook later loses only the promptness: a worker's own
//! `catch_unwind` still poisons its engine as the worker leaves its loop.

use std::sync::{Mutex, Once, Weak};

use super::connect::NetworkThreads;
use crate::error::Error;
use crate::protocol::health::{Health, panic_message};

/// The prefix of timely's network-thread panics.
const PREFIX: &str = "timely communication error";

/// A running engine of this process and, in a cluster, its network threads.
struct Watched {
    health: Weak<Health>,
    network: Option<NetworkThreads>,
}

static ENGINES: Mutex<Vec<Watched>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

/// Watches `health`'s engine: its workers' panics poison it at once, and a broken connection
/// reported by one of its `network` threads fails it with [`Error::PeerLost`].
pub(crate) fn watch(health: Weak<Health>, network: Option<NetworkThreads>) {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            on_panic(&panic_message(info.payload()));
            previous(info);
        }));
    });
    let mut engines = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    engines.retain(|watched| watched.health.strong_count() > 0);
    engines.push(Watched { health, network });
}

/// Stops the engine, if any, that owns the panicking thread.
fn on_panic(message: &str) {
    let thread = std::thread::current();
    let engines = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    for watched in engines.iter() {
        let Some(health) = watched.health.upgrade() else { continue };
        if let Some(worker) = health.worker_index(&thread) {
            if !health.is_shut_down() {
                health.set_panic_message(format!("worker {worker}: {message}"));
            }
        } else if message.starts_with(PREFIX)
            && watched.network.as_ref().is_some_and(|network| {
                network.lock().unwrap_or_else(|e| e.into_inner()).contains(&thread.id())
            })
        {
            health.fail_with(Error::PeerLost { reason: message.to_string() });
        }
    }
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
        watch(Arc::downgrade(&first), Some(Arc::clone(&first_network)));
        watch(Arc::downgrade(&gone), Some(NetworkThreads::default()));
        drop(gone);
        // Registering another engine forgets the dropped one, and only that one.
        watch(Arc::downgrade(&second), Some(Arc::clone(&second_network)));
        let engines = ENGINES.lock().unwrap();
        assert!(engines.iter().all(|watched| watched.health.strong_count() > 0), "no dropped engine is kept");
        assert_eq!(
            engines
                .iter()
                .filter(|watched| Arc::ptr_eq(watched.network.as_ref().unwrap(), &first_network))
                .count(),
            1
        );
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

    /// An engine's only worker (global index `first`), whose thread panics with `message`
    /// once `prepare` ran on the engine; true if the engine was poisoned before the worker's
    /// first local was dropped (what its caller sees first: a reply channel closing).
    fn worker_panics(
        first: usize,
        message: &'static str,
        prepare: impl FnOnce(&Health),
    ) -> (Arc<Health>, bool) {
        use std::sync::atomic::{AtomicBool, Ordering};
        struct Reply(Arc<Health>, Arc<AtomicBool>);
        impl Drop for Reply {
            fn drop(&mut self) {
                self.1.store(self.0.is_poisoned(), Ordering::SeqCst);
            }
        }
        let health = Arc::new(Health::default());
        watch(Arc::downgrade(&health), None);
        let (started, start) = std::sync::mpsc::channel();
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let seen = Arc::new(AtomicBool::new(false));
        let reply = Reply(Arc::clone(&health), Arc::clone(&seen));
        let worker = std::thread::spawn(move || {
            let _reply = reply;
            started.send(std::thread::current()).unwrap();
            wait.recv().unwrap();
            panic!("{message}")
        });
        health.set_threads(vec![start.recv().unwrap()], first);
        assert_eq!(health.failure(), None);
        prepare(&health);
        go.send(()).unwrap();
        assert!(worker.join().is_err());
        let seen = seen.load(Ordering::SeqCst);
        (health, seen)
    }

    #[test]
    fn a_panicking_worker_poisons_its_engine_before_it_unwinds() {
        let (health, poisoned_first) = worker_panics(4, "view bug", |_| {});
        assert!(poisoned_first, "poisoned before anything unwound");
        assert_eq!(health.check(), Err(Error::WorkerPanicked { message: "worker 4: view bug".into() }));
    }

    #[test]
    fn a_panic_after_shutdown_does_not_poison() {
        let (health, _) = worker_panics(0, "while tearing down", Health::mark_shut_down);
        assert_eq!(health.check(), Err(Error::Shutdown));
    }
}

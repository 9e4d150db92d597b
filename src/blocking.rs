//! Threads for the blocking part of async calls: the write-ahead log's appends and syncs of
//! `commit_async`, and the batch run over stored history that answers an `at_async` older than
//! the in-memory state.
//!
//! One pool per process, shared by every engine, like an async runtime's blocking pool but tied
//! to none: a thread is started when work arrives and no idle one is free for it, up to [`MAX_THREADS`]
//! (more work queues), and ends after [`IDLE`] without work. [`run`] returns a future that
//! is ready with the work's result; the work runs to its end even if the future is dropped.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::protocol::health::panic_message;

/// At most this many threads run blocking work at once.
const MAX_THREADS: usize = 64;
/// A thread without work for this long ends.
const IDLE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
}

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

static POOL: Pool = Pool {
    state: Mutex::new(PoolState { queue: VecDeque::new(), threads: 0, idle: 0 }),
    work: Condvar::new(),
};

/// Runs `work` on a thread of the pool; the future is ready with its result. A panic in `work`
/// is [`Error::WorkerPanicked`].
pub(crate) fn run<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Blocking<T> {
    let slot = Arc::new(Mutex::new(Slot { result: None, waker: None }));
    let filled = Arc::clone(&slot);
    let job: Job = Box::new(move || {
        let result = catch_unwind(AssertUnwindSafe(work))
            .unwrap_or_else(|panic| Err(Error::WorkerPanicked { message: panic_message(&*panic) }));
        let mut slot = filled.lock().unwrap_or_else(|e| e.into_inner());
        slot.result = Some(result);
        if let Some(waker) = slot.waker.take() {
            waker.wake();
        }
    });
    if let Err(error) = POOL.submit(job) {
        slot.lock().unwrap_or_else(|e| e.into_inner()).result = Some(Err(error));
    }
    Blocking { slot }
}

impl Pool {
    /// Queues `job`, starting a thread if the idle ones are all spoken for (by jobs queued
    /// before it) and fewer than the most run.
    fn submit(&'static self, job: Job) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.queue.push_back(job);
        if state.queue.len() <= state.idle {
            self.work.notify_one();
            return Ok(());
        }
        if state.threads >= MAX_THREADS {
            return Ok(());
        }
        let started = std::thread::Builder::new().name("ivm-blocking".into()).spawn(move || self.serve());
        match started {
            Ok(_) => {
                state.threads += 1;
                Ok(())
            }
            // Some thread of the pool will take it, or nothing ever would.
            Err(_) if state.threads > 0 => Ok(()),
            Err(error) => {
                state.queue.pop_back();
                Err(Error::io("starting a thread for blocking work", error))
            }
        }
    }

    /// A pool thread: runs queued jobs until it has been idle for [`IDLE`].
    fn serve(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                job();
                state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            state.idle += 1;
            let (woken, timeout) = self.work.wait_timeout(state, IDLE).unwrap_or_else(|e| e.into_inner());
            state = woken;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }
}

struct Slot<T> {
    result: Option<Result<T>>,
    waker: Option<Waker>,
}

/// The result of work handed to the pool, as a future.
pub(crate) struct Blocking<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Future for Blocking<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match slot.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::Wake;

    use super::*;

    /// Polls `future` on this thread until it is ready, parking between polls.
    fn block_on<F: Future>(future: F) -> F::Output {
        struct Unpark(std::thread::Thread, AtomicBool);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.1.store(true, Ordering::SeqCst);
                self.0.unpark();
            }
        }
        let unpark = Arc::new(Unpark(std::thread::current(), AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&unpark));
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
                return output;
            }
            while !unpark.1.swap(false, Ordering::SeqCst) {
                std::thread::park();
            }
        }
    }

    #[test]
    fn work_runs_on_another_thread_and_its_result_wakes_the_future() {
        let caller = std::thread::current().id();
        let ran_on = block_on(run(|| Ok(std::thread::current().id()))).unwrap();
        assert_ne!(ran_on, caller);
    }

    #[test]
    fn work_that_blocks_does_not_hold_back_other_work() {
        let (release, held) = crossbeam_channel::bounded::<()>(0);
        let blocked = run(move || held.recv().map_err(|_| Error::Shutdown));
        assert_eq!(block_on(run(|| Ok(7))).unwrap(), 7);
        release.send(()).unwrap();
        assert_eq!(block_on(blocked), Ok(()));
    }

    #[test]
    fn a_panic_in_the_work_is_an_error_not_a_lost_thread() {
        let outcome = block_on(run(|| -> Result<()> { panic!("inside") }));
        assert!(matches!(outcome, Err(Error::WorkerPanicked { message }) if message == "inside"));
        assert_eq!(block_on(run(|| Ok(1))).unwrap(), 1);
    }
}

//! The caller's end of a read in this process: a channel of the answering workers' shares that
//! the caller either blocks on or polls from a future.
//!
//! Each [`AnswerSender`] wakes the polling caller when it sends and when it is dropped (a worker
//! that stops, or cancels the read, without answering), so a future never waits for a share that
//! can no longer come.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use crate::error::Result;

/// One worker's answer to a read in this process: a `Vec<T>` of the reader's row type.
pub(crate) type LocalAnswer = Result<Box<dyn std::any::Any + Send>>;

/// A new channel for one read's answers.
pub(crate) fn answers() -> (AnswerSender, Answers) {
    let (sender, receiver) = crossbeam_channel::unbounded();
    let waker = Arc::new(Mutex::new(None));
    (AnswerSender { sender: Some(sender), waker: Arc::clone(&waker) }, Answers { receiver, waker })
}

/// Why no answer came: every sender is gone without one (a worker stopped, or the read was
/// cancelled), or the deadline passed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoAnswer {
    Disconnected,
    Timeout,
}

/// Where a worker (or the receiver of another process's answers) sends its share.
pub(crate) struct AnswerSender {
    /// Always `Some` until dropped: taken in `drop` so the channel disconnects before the wake.
    sender: Option<Sender<LocalAnswer>>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl AnswerSender {
    pub(crate) fn send(&self, answer: LocalAnswer) {
        if let Some(sender) = &self.sender {
            let _ = sender.send(answer);
        }
        wake(&self.waker);
    }
}

impl Clone for AnswerSender {
    fn clone(&self) -> Self {
        AnswerSender { sender: self.sender.clone(), waker: Arc::clone(&self.waker) }
    }
}

impl Drop for AnswerSender {
    fn drop(&mut self) {
        drop(self.sender.take());
        wake(&self.waker);
    }
}

fn wake(waker: &Mutex<Option<Waker>>) {
    if let Some(waker) = waker.lock().unwrap_or_else(|e| e.into_inner()).take() {
        waker.wake();
    }
}

/// The caller's end.
pub(crate) struct Answers {
    receiver: Receiver<LocalAnswer>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Answers {
    /// The next share, waiting until `deadline` (`None`: as long as it takes).
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<LocalAnswer, NoAnswer> {
        match deadline {
            None => self.receiver.recv().map_err(|_| NoAnswer::Disconnected),
            Some(deadline) => self.receiver.recv_deadline(deadline).map_err(|error| match error {
                RecvTimeoutError::Timeout => NoAnswer::Timeout,
                RecvTimeoutError::Disconnected => NoAnswer::Disconnected,
            }),
        }
    }

    /// The next share if there is one; otherwise pending, with `cx`'s waker registered.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<LocalAnswer, NoAnswer>> {
        // Registered before looking, so a share sent in between wakes this task.
        *self.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        match self.receiver.try_recv() {
            Ok(answer) => Poll::Ready(Ok(answer)),
            Err(TryRecvError::Disconnected) => Poll::Ready(Err(NoAnswer::Disconnected)),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(answers: &Answers, count: &Arc<Count>) -> Poll<Result<LocalAnswer, NoAnswer>> {
        let waker = Waker::from(Arc::clone(count));
        answers.poll_recv(&mut Context::from_waker(&waker))
    }

    #[test]
    fn a_send_wakes_the_poller_and_a_dropped_sender_disconnects_it() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let (sender, answers) = answers();
        let other = sender.clone();
        assert!(poll(&answers, &count).is_pending());
        sender.send(Ok(Box::new(vec![1u8])));
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(poll(&answers, &count), Poll::Ready(Ok(Ok(_)))));
        assert!(poll(&answers, &count).is_pending());
        drop(sender);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        // One sender is left: still pending, not disconnected.
        assert!(poll(&answers, &count).is_pending());
        drop(other);
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        assert!(matches!(poll(&answers, &count), Poll::Ready(Err(NoAnswer::Disconnected))));
    }

    #[test]
    fn a_blocking_receive_times_out_at_its_deadline() {
        let (_sender, answers) = answers();
        let deadline = Instant::now() + std::time::Duration::from_millis(10);
        assert_eq!(answers.recv(Some(deadline)).err(), Some(NoAnswer::Timeout));
    }
}

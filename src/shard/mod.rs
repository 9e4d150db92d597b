//! What a worker holds for each table and view: its arrangement, its input or subscription hub,
//! the readers that walk it, and the [`kind`] object that knows its types.
//!
//! Everything here lives on one worker thread (traces and scopes are `Rc`-based); only the
//! kind objects, shared by every worker, and the answers cross threads.

pub(crate) mod arrangement;
pub(crate) mod hub;
pub(crate) mod input;
pub(crate) mod kind;
pub(crate) mod layout;
pub(crate) mod peek;
pub(crate) mod registry;
pub(crate) mod sorted_runs;
pub(crate) mod stream;

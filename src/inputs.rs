//! The inputs a view definition names once: handles in, collections out.
//!
//! A definition written with [`Engine::view`](crate::Engine::view) must own the handles it
//! reads, so each one is cloned into the closure, and each is read with `v.table(&handle)`.
//! A definition *over* its inputs ([`Definition::over`](crate::Definition::over),
//! [`Engine::view_over`](crate::Engine::view_over)) names them once, by reference: the library
//! keeps its own clones of the handles, and every time the definition is built (on each worker,
//! and again in each batch run) it reads them and passes the closure their collections, by
//! value, ready for differential's operators:
//!
//! ```
//! use ivm::{Config, Engine};
//! # fn main() -> ivm::Result<()> {
//! let engine = Engine::start(Config::default())?;
//! let edges = engine.table::<(u32, u32)>("edges")?;
//! let names = engine.keyed_table::<u32, String>("names")?;
//! let named_edges = engine.view_over("named_edges", (&edges, &names), |_, (edges, names)| {
//!     edges.join(names).map(|(_from, (to, name))| (to, name))
//! })?;
//! let t = engine.commit(|tx| {
//!     tx.insert(&edges, (1, 2));
//!     tx.upsert(&names, 1, "one".into());
//! })?;
//! assert_eq!(named_edges.at(t)?, vec![((2, "one".to_string()), 1)]);
//! # Ok(()) }
//! ```
//!
//! Inputs are a reference to one handle ([`Table`], [`KeyedTable`], [`View`], [`KeyedView`]) or
//! a tuple of up to eight inputs. Each becomes the collection its `Views` call gives: a bag
//! table's rows, a keyed table's or keyed view's `(key, value)` pairs, a view's rows.

use differential_dataflow::VecCollection;

use crate::definition::{Definition, Views};
use crate::row::Row;
use crate::table::{KeyedTable, Table};
use crate::time::{Diff, Time};
use crate::view::{KeyedView, View};

impl<R: Row> Definition<R> {
    /// A definition that names its inputs once: `logic` receives the [`Views`] context and the
    /// inputs' collections, in the shape `inputs` has (one handle, or a tuple of handles); see
    /// [`Inputs`].
    ///
    /// The handles are cloned once, here, and read each time the definition is built, so the
    /// closure needs neither clones of the handles nor `v.table(..)` calls:
    ///
    /// ```
    /// use ivm::{Config, Definition, Engine};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let edges = engine.table::<(u32, u32)>("edges")?;
    /// let degree = Definition::over(&edges, |_, edges| edges.map(|(from, _to)| from).count());
    /// let view = engine.view_from("degree", &degree)?;
    /// let t = engine.commit(|tx| tx.insert_all(&edges, [(1, 2), (1, 3)]))?;
    /// assert_eq!(view.at(t)?, vec![((1, 2), 1)]);
    /// # Ok(()) }
    /// ```
    ///
    /// Never fails here; inputs the engine or a batch run does not have fail there, as with
    /// [`Views::table`].
    pub fn over<I, F>(inputs: I, logic: F) -> Self
    where
        I: Inputs,
        F: for<'s> Fn(&Views<'s>, I::Collections<'s>) -> VecCollection<'s, Time, R, Diff>
            + Send
            + Sync
            + 'static,
    {
        let handles = inputs.handles();
        Definition::new(move |views| logic(views, I::collections(&handles, views)))
    }
}

/// What a definition over its inputs names: a reference to a table or view handle, or a tuple
/// of such inputs.
///
/// Implemented for `&Table<T>`, `&KeyedTable<K, V>`, `&View<R>`, `&KeyedView<K, V>` and tuples
/// of one to eight inputs (nested tuples too). Reading never fails here: a handle of another
/// engine or a table a batch run lacks makes the view's creation or the run fail, as with
/// [`Views::table`] (see [`Views`]).
pub trait Inputs {
    /// The handles the definition keeps: owned clones of the named ones.
    type Handles: Send + Sync + 'static;
    /// What the definition's closure receives: one collection per handle, in the same shape.
    type Collections<'s>;

    /// Clones the named handles (cheap: a handle is a few reference counts).
    fn handles(self) -> Self::Handles;

    /// Reads every handle in `views`, in order.
    fn collections<'s>(handles: &Self::Handles, views: &Views<'s>) -> Self::Collections<'s>;
}

impl<T: Row> Inputs for &Table<T> {
    type Handles = Table<T>;
    type Collections<'s> = VecCollection<'s, Time, T, Diff>;

    fn handles(self) -> Table<T> {
        self.clone()
    }

    fn collections<'s>(handles: &Table<T>, views: &Views<'s>) -> Self::Collections<'s> {
        views.table(handles)
    }
}

impl<K: Row, V: Row> Inputs for &KeyedTable<K, V> {
    type Handles = KeyedTable<K, V>;
    type Collections<'s> = VecCollection<'s, Time, (K, V), Diff>;

    fn handles(self) -> KeyedTable<K, V> {
        self.clone()
    }

    fn collections<'s>(handles: &KeyedTable<K, V>, views: &Views<'s>) -> Self::Collections<'s> {
        views.keyed_table(handles)
    }
}

impl<R: Row> Inputs for &View<R> {
    type Handles = View<R>;
    type Collections<'s> = VecCollection<'s, Time, R, Diff>;

    fn handles(self) -> View<R> {
        self.clone()
    }

    fn collections<'s>(handles: &View<R>, views: &Views<'s>) -> Self::Collections<'s> {
        views.view(handles)
    }
}

impl<K: Row, V: Row> Inputs for &KeyedView<K, V> {
    type Handles = KeyedView<K, V>;
    type Collections<'s> = VecCollection<'s, Time, (K, V), Diff>;

    fn handles(self) -> KeyedView<K, V> {
        self.clone()
    }

    fn collections<'s>(handles: &KeyedView<K, V>, views: &Views<'s>) -> Self::Collections<'s> {
        views.keyed_view(handles)
    }
}

/// `Inputs` for a tuple of inputs: handles and collections in the tuple's shape and order.
macro_rules! tuple_inputs {
    ($($name:ident $index:tt),+) => {
        impl<$($name: Inputs),+> Inputs for ($($name,)+) {
            type Handles = ($($name::Handles,)+);
            type Collections<'s> = ($($name::Collections<'s>,)+);

            fn handles(self) -> Self::Handles {
                ($(self.$index.handles(),)+)
            }

            fn collections<'s>(handles: &Self::Handles, views: &Views<'s>) -> Self::Collections<'s> {
                ($($name::collections(&handles.$index, views),)+)
            }
        }
    };
}

tuple_inputs!(A 0);
tuple_inputs!(A 0, B 1);
tuple_inputs!(A 0, B 1, C 2);
tuple_inputs!(A 0, B 1, C 2, D 3);
tuple_inputs!(A 0, B 1, C 2, D 3, E 4);
tuple_inputs!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_inputs!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_inputs!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

//! What can go wrong with a statement: [`SqlError`] when it is read, bound or run, and
//! [`EvalError`] when a row of a maintained view cannot be computed.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The result of an SQL call.
pub type SqlResult<T> = std::result::Result<T, SqlError>;

/// Where in the statement text a problem is: line and column, both from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Position {
    /// The line, from 1 (0 when the position is not known).
    pub line: u64,
    /// The column, from 1 (0 when the position is not known).
    pub column: u64,
}

impl Position {
    pub(crate) fn of(span: sqlparser::tokenizer::Span) -> Position {
        Position { line: span.start.line, column: span.start.column }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str("(position unknown)")
        } else {
            write!(f, "line {}, column {}", self.line, self.column)
        }
    }
}

/// Why an SQL statement failed. Nothing a statement that fails would have written is written.
#[derive(Debug)]
#[non_exhaustive]
pub enum SqlError {
    /// The text is not SQL the parser reads.
    Parse {
        /// The parser's message.
        message: String,
        /// Where.
        at: Position,
    },
    /// Valid SQL that `ivm` does not support (yet).
    Unsupported {
        /// The construct.
        what: String,
        /// Where.
        at: Position,
    },
    /// No table or view of this name.
    UnknownTable {
        /// The name.
        name: String,
        /// Where.
        at: Position,
    },
    /// No column of this name in scope.
    UnknownColumn {
        /// The name as written.
        name: String,
        /// Where.
        at: Position,
    },
    /// A column name that more than one table in scope has.
    AmbiguousColumn {
        /// The name as written.
        name: String,
        /// Where.
        at: Position,
    },
    /// An expression of the wrong type (a text added to a number, a `WHERE` that is not
    /// boolean, an `INSERT` value that does not fit its column...).
    Type {
        /// What was expected and what was found.
        message: String,
        /// Where.
        at: Position,
    },
    /// A write that breaks a table's rules: a `NULL` in a `NOT NULL` column, two rows with one
    /// primary key, a wrong number of values, a value its column's type cannot hold (`DATE
    /// '2024-02-30'`).
    Constraint(String),
    /// `BEGIN` inside a transaction, `COMMIT` outside one, or a statement a transaction cannot
    /// hold.
    Transaction(String),
    /// A row could not be computed: division by zero, overflow, a bad cast.
    Eval {
        /// The view (or `query` for an ad-hoc query).
        view: String,
        /// What went wrong.
        error: EvalError,
    },
    /// Rows could not be turned into the caller's type.
    Decode(String),
    /// `AS OF` a time nothing has been committed at yet.
    FutureTime {
        /// The time asked for.
        requested: crate::Time,
        /// The latest commit.
        latest: crate::Time,
    },
    /// The engine refused (unknown time, compacted history, shut down...).
    Engine(crate::Error),
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlError::Parse { message, at } => write!(f, "syntax error at {at}: {message}"),
            SqlError::Unsupported { what, at } => write!(f, "not supported at {at}: {what}"),
            SqlError::UnknownTable { name, at } => write!(f, "no table or view named {name} (at {at})"),
            SqlError::UnknownColumn { name, at } => write!(f, "no column named {name} (at {at})"),
            SqlError::AmbiguousColumn { name, at } => {
                write!(f, "column name {name} is ambiguous (at {at}): qualify it with its table")
            }
            SqlError::Type { message, at } => write!(f, "type error at {at}: {message}"),
            SqlError::Constraint(message) => write!(f, "constraint violated: {message}"),
            SqlError::Transaction(message) => write!(f, "transaction: {message}"),
            SqlError::Eval { view, error } => write!(f, "{view}: {error}"),
            SqlError::Decode(message) => write!(f, "cannot decode rows: {message}"),
            SqlError::FutureTime { requested, latest } => {
                write!(
                    f,
                    "AS OF {requested} is after the latest commit ({latest}); read at {latest} or earlier"
                )
            }
            SqlError::Engine(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for SqlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SqlError::Engine(error) => Some(error),
            _ => None,
        }
    }
}

impl From<crate::Error> for SqlError {
    fn from(error: crate::Error) -> Self {
        SqlError::Engine(error)
    }
}

/// Why a row could not be computed, at run time. A maintained view that meets one keeps
/// serving: its reads fail with [`SqlError::Eval`] while the offending row is in its inputs,
/// and succeed again once it is gone; other views are not affected.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EvalError {
    /// A division or modulo by zero.
    DivisionByZero,
    /// An integer or decimal result out of range.
    Overflow,
    /// A value that cannot be cast to a type.
    InvalidCast {
        /// The value, as text.
        value: String,
        /// The type's name.
        to: String,
    },
    /// A function given an argument it cannot take.
    InvalidArgument {
        /// The function.
        function: String,
        /// What is wrong.
        message: String,
    },
    /// A scalar subquery that returned more than one row.
    MoreThanOneRow,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::DivisionByZero => f.write_str("division by zero"),
            EvalError::Overflow => f.write_str("numeric value out of range"),
            EvalError::InvalidCast { value, to } => write!(f, "cannot cast {value:?} to {to}"),
            EvalError::InvalidArgument { function, message } => write!(f, "{function}: {message}"),
            EvalError::MoreThanOneRow => f.write_str("a scalar subquery returned more than one row"),
        }
    }
}

impl std::error::Error for EvalError {}

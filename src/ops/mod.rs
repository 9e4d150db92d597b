//! Typed operators whose state agrees between the live engine and one-shot batch runs.

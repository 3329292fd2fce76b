//! Error text for places that must send an error across a process boundary
//! (gRPC statuses, Raft-replicated task status, logs): [`error_chain`].
//!
//! A leaf: it imports nothing of the crate, so every layer may use it
//! without tying layers together. Each layer keeps its own `thiserror`
//! enum with its source chain; this only renders such a chain as one line.

/// An error with its whole source chain, for places that must send it as
/// text (across a process boundary). A cause whose text its parent already
/// shows is not repeated.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

//! Why a task file could not be parsed (with what was parsed before, where there is some).

use thiserror::Error;

use super::{TaskDefinition, TextEncoding};

#[derive(Debug, Clone, PartialEq, Error)]
pub enum TaskXmlError {
    #[error("empty input: a task definition needs at least a <Task> element")]
    Empty,
    #[error(
        "malformed XML at byte {position} of the decoded text (decoded as {encoding:?}): {message}"
    )]
    Malformed {
        /// Offset in the decoded UTF-8 text, not in the original bytes.
        position: u64,
        encoding: TextEncoding,
        message: String,
        /// What had been parsed before the error, when the `<Task>` root had been seen.
        partial: Option<Box<TaskDefinition>>,
    },
    #[error("root element is <{found}>, expected <Task>")]
    NotATask { found: String },
    #[error("no root element found (decoded as {encoding:?}): {detail}")]
    NoRootElement {
        encoding: TextEncoding,
        detail: String,
    },
    #[error(
        "document truncated: input ended inside <{open_element}> at nesting depth {depth} (byte {position} of decoded text)"
    )]
    Truncated {
        open_element: String,
        depth: usize,
        position: u64,
        partial: Box<TaskDefinition>,
    },
}

impl TaskXmlError {
    /// The partially parsed task carried by truncation/syntax errors, if any.
    pub fn partial(&self) -> Option<&TaskDefinition> {
        match self {
            TaskXmlError::Malformed { partial, .. } => partial.as_deref(),
            TaskXmlError::Truncated { partial, .. } => Some(partial),
            _ => None,
        }
    }
}

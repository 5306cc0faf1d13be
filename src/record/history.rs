use serde::{Deserialize, Serialize};

/// Scaffold: replaced by the collector's real record type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRecord {}

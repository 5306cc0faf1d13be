//! `<Actions>`: what a task runs (a command line, a COM handler, the deprecated e-mail and message actions).

use serde::{Deserialize, Serialize};

/// One entry of `<Actions>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskAction {
    Exec {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Empty when the element was missing (recorded as a warning).
        command: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        arguments: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        working_directory: Option<String>,
    },
    ComHandler {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        class_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<String>,
    },
    /// Deprecated since Windows 8 but still parsed by the service.
    SendEmail {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cc: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        bcc: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<String>,
    },
    /// Deprecated since Windows 8.
    ShowMessage {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// Unknown action element, by local name.
    Other {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        element: String,
    },
}

/// The command line Task Scheduler would start for an action: `command + " " + arguments`
/// (arguments omitted when empty). Environment variables and `$(Arg0)` placeholders are left
/// unexpanded, quoting is left as written. Non-Exec actions have no command line: empty string.
pub fn exec_command_line(action: &TaskAction) -> String {
    match action {
        TaskAction::Exec {
            command, arguments, ..
        } => match arguments.as_deref() {
            Some(args) if !args.is_empty() => format!("{command} {args}"),
            _ => command.clone(),
        },
        _ => String::new(),
    }
}

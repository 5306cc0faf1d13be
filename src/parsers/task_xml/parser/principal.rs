//! Filling `<Principals>`: each `<Principal>` and its leaves.

use quick_xml::events::BytesStart;

use super::{Ctx, Parser};
use crate::parsers::task_xml::{LogonType, Principal, RunLevel};

pub(super) const PRINCIPAL_LEAVES: &[&str] = &[
    "UserId",
    "GroupId",
    "LogonType",
    "RunLevel",
    "DisplayName",
    "ProcessTokenSidType",
];

impl Parser {
    pub(super) fn assign_principal(&mut self, leaf: &str, v: String) {
        let w = &mut self.task.warnings;
        let Some(p) = self.task.principals.last_mut() else {
            return;
        };
        match leaf {
            "UserId" => Self::set_str(w, &mut p.user_id, leaf, v),
            "GroupId" => Self::set_str(w, &mut p.group_id, leaf, v),
            "DisplayName" => Self::set_str(w, &mut p.display_name, leaf, v),
            "ProcessTokenSidType" => Self::set_str(w, &mut p.process_token_sid_type, leaf, v),
            "LogonType" => p.logon_type = Some(LogonType::from_text(&v)),
            "RunLevel" => p.run_level = Some(RunLevel::from_text(&v)),
            _ => {}
        }
    }
}

impl Parser {
    /// `<Principals>`: each `<Principal>` starts a new principal.
    pub(super) fn principals_child(&mut self, name: &str, e: &BytesStart<'_>) -> Ctx {
        use Ctx::*;
        match name {
            "Principal" => {
                let id = self.attr(e, "id");
                self.task.principals.push(self::Principal {
                    id,
                    ..Default::default()
                });
                Principal
            }
            _ => self.unknown(name, "Principals"),
        }
    }
}

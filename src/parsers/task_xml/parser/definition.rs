//! Filling `<RegistrationInfo>` (who registered the task, when, and its URI).

use super::Parser;
use crate::parsers::task_xml::{TaskTime, clip};

pub(super) const REG_LEAVES: &[&str] = &[
    "URI",
    "Author",
    "Description",
    "Date",
    "Source",
    "Version",
    "Documentation",
    "SecurityDescriptor",
];

impl Parser {
    pub(super) fn assign_reg(&mut self, leaf: &str, v: String) {
        let w = &mut self.task.warnings;
        let r = &mut self.task.registration_info;
        match leaf {
            "URI" => Self::set_str(w, &mut r.uri, leaf, v),
            "Author" => Self::set_str(w, &mut r.author, leaf, v),
            "Description" => Self::set_str(w, &mut r.description, leaf, v),
            "Source" => Self::set_str(w, &mut r.source, leaf, v),
            "Version" => Self::set_str(w, &mut r.version, leaf, v),
            "Documentation" => Self::set_str(w, &mut r.documentation, leaf, v),
            "SecurityDescriptor" => Self::set_str(w, &mut r.security_descriptor, leaf, v),
            "Date" => {
                if r.date.is_none() {
                    let t = TaskTime::parse(&v);
                    let bad = t.wall_clock.is_none();
                    r.date = Some(t);
                    if bad {
                        self.warn(format!("<Date> {:?} is not an xs:dateTime", clip(&v)));
                    }
                } else {
                    self.warn("duplicate <Date> ignored".to_string());
                }
            }
            _ => {}
        }
    }
}

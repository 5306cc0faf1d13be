//! Parent and ancestry of a process observation from the rest of what was collected: the
//! live snapshot by pid (one set, bounded by the process count), logged process creations by
//! Sysmon ProcessGuid (one event at a time, through a bounded index), so "script host spawned
//! X" and "Office → shell" rules see the whole chain even when one event logged only the
//! parent.

use std::collections::{HashMap, VecDeque};

use super::super::observation::{Observation, ObservationKind, image_name};
use super::MAX_DEPTH;

/// Fills `parent_image`, `parent_command_line` and `ancestry` of live-snapshot processes
/// from the rest of the snapshot (by pid).
pub fn enrich_snapshot(obs: &mut [Observation]) {
    let by_pid: HashMap<u32, usize> = obs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == ObservationKind::Process)
        .filter_map(|(i, o)| o.pid.map(|p| (p, i)))
        .collect();
    // (index, parent image + command line, ancestor names)
    type Update = (usize, Option<(String, Option<String>)>, Vec<String>);
    let mut updates: Vec<Update> = Vec::new();
    for (i, o) in obs.iter().enumerate() {
        if o.kind != ObservationKind::Process {
            continue;
        }
        let parent_of = |j: usize| obs[j].ppid.and_then(|pp| by_pid.get(&pp).copied());
        let mut chain = Vec::new();
        let mut cur = i;
        while chain.len() < MAX_DEPTH {
            match parent_of(cur) {
                Some(p) if p != i && !chain.contains(&p) => {
                    chain.push(p);
                    cur = p;
                }
                _ => break,
            }
        }
        if chain.len() <= o.ancestry.len() && o.parent_image.is_some() {
            continue;
        }
        let names: Vec<String> = chain
            .iter()
            .filter_map(|&j| obs[j].image.as_deref().map(image_name))
            .collect();
        let parent = chain.first().and_then(|&p| {
            obs[p]
                .image
                .clone()
                .map(|img| (img, obs[p].command_line.clone()))
        });
        updates.push((i, parent, names));
    }
    for (i, parent, names) in updates {
        apply_parent(&mut obs[i], parent, names);
    }
}

fn apply_parent(o: &mut Observation, parent: Option<(String, Option<String>)>, names: Vec<String>) {
    if o.parent_image.is_none()
        && let Some((img, cmd)) = parent
    {
        o.parent_image = Some(img);
        if o.parent_command_line.is_none() {
            o.parent_command_line = cmd;
        }
    }
    if names.len() > o.ancestry.len() {
        o.ancestry = names;
    }
}

/// Characters of a parent's command line the index keeps (rules read the start of it; the
/// parent's own event carries it whole).
const INDEX_COMMAND_CHARS: usize = 256;

/// What a logged process creation leaves for its children: Sysmon ProcessGuid → parent
/// guid, image and command line. Bounded: past `cap` guids the oldest are forgotten, so a log
/// of millions of events costs a fixed amount of memory (a child logged long after its parent
/// then loses the parent's details, never the event).
pub struct GuidIndex {
    map: HashMap<Key, GuidFacts>,
    order: VecDeque<Key>,
    cap: usize,
}

/// A process's key in the index, 8 bytes: a pid with the top bit set, or a 63-bit hash of the
/// lower-cased ProcessGuid. (A hash, not the text: the index holds up to its cap of them twice,
/// and a log of process starts must cost little per event. Two guids colliding in 63 bits
/// among the cap's worth is not a practical concern.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key(u64);

const PID_KEY: u64 = 1 << 63;

impl Key {
    fn guid(g: &str) -> Key {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(g.to_ascii_lowercase());
        Key(h & !PID_KEY)
    }

    fn pid(pid: u32) -> Key {
        Key(PID_KEY | u64::from(pid))
    }

    fn is_pid(self) -> bool {
        self.0 & PID_KEY != 0
    }
}

struct GuidFacts {
    parent: Option<Key>,
    image: Option<Box<str>>,
    command_line: Option<Box<str>>,
    time: Option<crate::record::Timestamp>,
}

/// The key of a process event: its Sysmon ProcessGuid, else (Security 4688, auditd execve,
/// which log no guid) its process id. A pid key only joins a parent logged no later than the
/// child, since pids are reused.
fn own_key(o: &Observation) -> Option<Key> {
    match (&o.process_guid, o.pid) {
        (Some(g), _) => Some(Key::guid(g)),
        (None, Some(pid)) => Some(Key::pid(pid)),
        (None, None) => None,
    }
}

fn parent_key(o: &Observation) -> Option<Key> {
    match (&o.parent_process_guid, &o.process_guid, o.ppid) {
        (Some(g), _, _) => Some(Key::guid(g)),
        // A Sysmon event without a parent guid has none to join by pid either.
        (None, None, Some(ppid)) if ppid != 0 => Some(Key::pid(ppid)),
        _ => None,
    }
}

impl GuidIndex {
    pub fn new(cap: usize) -> GuidIndex {
        GuidIndex {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Remember a process event (other observations are ignored).
    pub fn insert(&mut self, o: &Observation) {
        if o.kind != ObservationKind::ProcessEvent {
            return;
        }
        let Some(guid) = own_key(o) else {
            return;
        };
        let facts = GuidFacts {
            parent: parent_key(o),
            time: o.timestamp,
            image: o.image.as_deref().map(Box::from),
            command_line: o.command_line.as_ref().map(|c| {
                let cut: String = c.chars().take(INDEX_COMMAND_CHARS).collect();
                cut.into_boxed_str()
            }),
        };
        if self.map.insert(guid, facts).is_none() {
            self.order.push_back(guid);
            while self.order.len() > self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }

    /// Fill a Sysmon 3 connection's image (when absent) and ancestry from the process event
    /// of its ProcessGuid, so joins see who started the process that called out.
    pub fn enrich_connection(&self, o: &mut Observation) {
        if o.kind != ObservationKind::NetworkConnection || !o.ancestry.is_empty() {
            return;
        }
        let Some(guid) = o.process_guid.as_deref().map(Key::guid) else {
            return;
        };
        let Some(own) = self.map.get(&guid) else {
            return;
        };
        if o.image.is_none()
            && let Some(img) = &own.image
        {
            o.image_name = Some(image_name(img));
            o.image = Some(img.to_string());
        }
        let mut seen = vec![guid];
        let mut names = Vec::new();
        let mut next = own.parent;
        while names.len() < MAX_DEPTH {
            let Some(g) = next.take() else { break };
            if seen.contains(&g) {
                break;
            }
            let Some(facts) = self.map.get(&g) else { break };
            if let Some(img) = &facts.image {
                names.push(image_name(img));
            }
            next = facts.parent;
            seen.push(g);
        }
        o.ancestry = names;
    }

    /// Fill a process event's parent and ancestry from the events indexed so far.
    pub fn enrich(&self, o: &mut Observation) {
        if o.kind != ObservationKind::ProcessEvent {
            return;
        }
        let own = own_key(o);
        let mut seen: Vec<Key> = own.into_iter().collect();
        let mut chain: Vec<&GuidFacts> = Vec::new();
        let mut next = parent_key(o);
        let mut child_time = o.timestamp;
        while chain.len() < MAX_DEPTH {
            let Some(g) = next.take() else { break };
            if seen.contains(&g) {
                break;
            }
            let Some(facts) = self.map.get(&g) else { break };
            if g.is_pid()
                && let (Some(parent), Some(child)) = (facts.time, child_time)
                && parent > child
            {
                // A later process that reused the pid, not the parent.
                break;
            }
            child_time = facts.time.or(child_time);
            seen.push(g);
            chain.push(facts);
            next = facts.parent;
        }
        if chain.len() <= o.ancestry.len() && o.parent_image.is_some() {
            return;
        }
        let names: Vec<String> = chain
            .iter()
            .filter_map(|f| f.image.as_deref().map(image_name))
            .collect();
        let parent = chain.first().and_then(|f| {
            f.image.as_deref().map(|img| {
                (
                    img.to_string(),
                    f.command_line.as_deref().map(str::to_string),
                )
            })
        });
        apply_parent(o, parent, names);
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::observation::{EvidenceRef, Observation, ObservationKind};
    use super::GuidIndex;
    use chrono::TimeZone;

    fn ev4688(pid: u32, ppid: u32, image: &str, minute: u32) -> Observation {
        Observation::new(ObservationKind::ProcessEvent, EvidenceRef::new("m", 1))
            .timestamp(
                chrono::Utc
                    .with_ymd_and_hms(2026, 1, 1, 10, minute, 0)
                    .single(),
            )
            .pids(Some(pid), Some(ppid))
            .image(Some(image))
    }

    #[test]
    fn sysmon_connection_gets_the_ancestry_of_its_process() {
        let mut idx = GuidIndex::new(16);
        let ev = |guid: &str, parent: &str, image: &str| {
            Observation::new(ObservationKind::ProcessEvent, EvidenceRef::new("m", 1))
                .guids(Some(guid.into()), Some(parent.into()))
                .image(Some(image))
        };
        idx.insert(&ev(
            "{a}",
            "{0}",
            r"C:\Program Files\Microsoft Office\WINWORD.EXE",
        ));
        idx.insert(&ev("{b}", "{a}", r"C:\Windows\System32\cmd.exe"));
        idx.insert(&ev(
            "{c}",
            "{b}",
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        ));
        let mut conn =
            Observation::new(ObservationKind::NetworkConnection, EvidenceRef::new("m", 2))
                .guids(Some("{C}".into()), None);
        idx.enrich_connection(&mut conn);
        assert_eq!(conn.image_name.as_deref(), Some("powershell.exe"));
        assert_eq!(
            conn.ancestry,
            vec!["cmd.exe".to_string(), "winword.exe".to_string()]
        );
    }

    #[test]
    fn security_4688_parents_join_by_creator_pid_logged_earlier() {
        let mut idx = GuidIndex::new(16);
        let wmi = ev4688(100, 4, r"C:\Windows\System32\wbem\WmiPrvSE.exe", 0);
        idx.insert(&wmi);
        let mut child = ev4688(200, 100, r"C:\Windows\System32\calc.exe", 1);
        idx.enrich(&mut child);
        assert_eq!(child.ancestry, vec!["wmiprvse.exe".to_string()]);
        assert!(
            child
                .parent_image
                .as_deref()
                .unwrap()
                .ends_with("WmiPrvSE.exe")
        );
        // A process that took pid 100 after the child started is not its parent.
        let mut idx = GuidIndex::new(16);
        idx.insert(&ev4688(100, 4, r"C:\Windows\notepad.exe", 5));
        let mut child = ev4688(200, 100, r"C:\Windows\System32\calc.exe", 1);
        idx.enrich(&mut child);
        assert!(child.parent_image.is_none() && child.ancestry.is_empty());
        // A pid loop ends.
        let mut idx = GuidIndex::new(16);
        idx.insert(&ev4688(1, 2, "a.exe", 0));
        idx.insert(&ev4688(2, 1, "b.exe", 0));
        let mut c = ev4688(3, 1, "c.exe", 0);
        idx.enrich(&mut c);
        assert_eq!(c.ancestry, vec!["a.exe".to_string(), "b.exe".to_string()]);
    }
}

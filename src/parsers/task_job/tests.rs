use super::*;

/// Writes a `.job` file following the MS-TSCH layout.
struct JobBuilder {
    product_version: u16,
    file_version: u16,
    uuid: [u8; 16],
    retry_count: u16,
    retry_interval: u16,
    idle_deadline: u16,
    idle_wait: u16,
    priority: u32,
    max_run_time: u32,
    exit_code: u32,
    status: u32,
    flags: u32,
    last_run: [u16; 8],
    running: u16,
    app: &'static str,
    params: &'static str,
    workdir: &'static str,
    author: &'static str,
    comment: &'static str,
    user_data: Vec<u8>,
    reserved: Option<(u32, u32)>,
    triggers: Vec<[u8; 48]>,
    signature: bool,
    trigger_offset_override: Option<u16>,
}

impl Default for JobBuilder {
    fn default() -> Self {
        JobBuilder {
            product_version: 0x0501,
            file_version: 1,
            uuid: [
                0x78, 0x56, 0x34, 0x12, 0xBC, 0x9A, 0xF0, 0xDE, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                0x07, 0x08,
            ],
            retry_count: 0,
            retry_interval: 0,
            idle_deadline: 60,
            idle_wait: 10,
            priority: 0x20,
            max_run_time: 259_200_000,
            exit_code: 0,
            status: 0x0004_1300,
            flags: 0x200 | 0x0100_0000,
            last_run: [2008, 6, 3, 12, 14, 30, 5, 250],
            running: 0,
            app: r"C:\WINDOWS\system32\cmd.exe",
            params: "/c net user backdoor P@ss /add",
            workdir: r"C:\WINDOWS\system32",
            author: r"WORKGROUP\Administrator",
            comment: "Created by NetScheduleJobAdd.",
            user_data: Vec::new(),
            reserved: Some((0x0004_1303, 0)),
            triggers: vec![trigger(
                1,
                [2008, 6, 12],
                [0, 0, 0],
                (9, 30),
                0,
                0,
                0,
                [1, 0, 0],
            )],
            signature: false,
            trigger_offset_override: None,
        }
    }
}

fn unicode(out: &mut Vec<u8>, s: &str) {
    if s.is_empty() {
        out.extend_from_slice(&0u16.to_le_bytes());
        return;
    }
    let units: Vec<u16> = s.encode_utf16().chain(std::iter::once(0)).collect();
    out.extend_from_slice(&(units.len() as u16).to_le_bytes());
    for u in units {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

#[allow(clippy::too_many_arguments)]
fn trigger(
    kind: u32,
    begin: [u16; 3],
    end: [u16; 3],
    start: (u16, u16),
    duration: u32,
    interval: u32,
    flags: u32,
    specific: [u16; 3],
) -> [u8; 48] {
    let mut t = Vec::with_capacity(48);
    for w in [
        48u16, 0, begin[0], begin[1], begin[2], end[0], end[1], end[2], start.0, start.1,
    ] {
        t.extend_from_slice(&w.to_le_bytes());
    }
    for d in [duration, interval, flags, kind] {
        t.extend_from_slice(&d.to_le_bytes());
    }
    for w in [specific[0], specific[1], specific[2], 0, 0, 0] {
        t.extend_from_slice(&w.to_le_bytes());
    }
    t.try_into().unwrap()
}

impl JobBuilder {
    fn build(&self) -> Vec<u8> {
        let mut var = Vec::new();
        var.extend_from_slice(&self.running.to_le_bytes());
        unicode(&mut var, self.app);
        unicode(&mut var, self.params);
        unicode(&mut var, self.workdir);
        unicode(&mut var, self.author);
        unicode(&mut var, self.comment);
        var.extend_from_slice(&(self.user_data.len() as u16).to_le_bytes());
        var.extend_from_slice(&self.user_data);
        match self.reserved {
            Some((a, b)) => {
                var.extend_from_slice(&8u16.to_le_bytes());
                var.extend_from_slice(&a.to_le_bytes());
                var.extend_from_slice(&b.to_le_bytes());
            }
            None => var.extend_from_slice(&0u16.to_le_bytes()),
        }
        let trigger_offset = (FIXED_LEN + var.len()) as u16;
        var.extend_from_slice(&(self.triggers.len() as u16).to_le_bytes());
        for t in &self.triggers {
            var.extend_from_slice(t);
        }
        if self.signature {
            var.extend_from_slice(&1u16.to_le_bytes());
            var.extend_from_slice(&1u16.to_le_bytes());
            var.extend((0..64u8).map(|i| i.wrapping_mul(3)));
        }

        let mut out = Vec::new();
        out.extend_from_slice(&self.product_version.to_le_bytes());
        out.extend_from_slice(&self.file_version.to_le_bytes());
        out.extend_from_slice(&self.uuid);
        out.extend_from_slice(&((FIXED_LEN + 2) as u16).to_le_bytes());
        out.extend_from_slice(
            &self
                .trigger_offset_override
                .unwrap_or(trigger_offset)
                .to_le_bytes(),
        );
        for w in [
            self.retry_count,
            self.retry_interval,
            self.idle_deadline,
            self.idle_wait,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        for d in [
            self.priority,
            self.max_run_time,
            self.exit_code,
            self.status,
            self.flags,
        ] {
            out.extend_from_slice(&d.to_le_bytes());
        }
        for w in self.last_run {
            out.extend_from_slice(&w.to_le_bytes());
        }
        assert_eq!(out.len(), FIXED_LEN);
        out.extend_from_slice(&var);
        out
    }
}

#[test]
fn parses_a_complete_job() {
    let bytes = JobBuilder::default().build();
    let j = parse_job(&bytes).unwrap();
    assert_eq!(j.product_version, 0x0501);
    assert_eq!(j.product_version_name.as_deref(), Some("Windows XP"));
    assert_eq!(j.file_version, 1);
    assert_eq!(j.job_uuid, "{12345678-9ABC-DEF0-0102-030405060708}");
    assert_eq!(j.idle_deadline_minutes, 60);
    assert_eq!(j.idle_wait_minutes, 10);
    assert_eq!(j.priority, JobPriority::Normal);
    assert_eq!(j.max_run_time_ms, 259_200_000);
    assert_eq!(j.status, JobStatus::Ready);
    assert_eq!(j.flag_names, ["hidden", "application_name"]);
    assert!(j.is_hidden());
    assert!(!j.is_disabled());
    assert_eq!(
        j.last_run_time.unwrap().to_string(),
        "2008-06-12 14:30:05.250"
    );
    assert_eq!(
        j.application_name.as_deref(),
        Some(r"C:\WINDOWS\system32\cmd.exe")
    );
    assert_eq!(
        j.parameters.as_deref(),
        Some("/c net user backdoor P@ss /add")
    );
    assert_eq!(j.working_directory.as_deref(), Some(r"C:\WINDOWS\system32"));
    assert_eq!(j.author.as_deref(), Some(r"WORKGROUP\Administrator"));
    assert_eq!(j.comment.as_deref(), Some("Created by NetScheduleJobAdd."));
    assert_eq!(
        j.command_line(),
        r"C:\WINDOWS\system32\cmd.exe /c net user backdoor P@ss /add"
    );
    assert_eq!(j.start_error, Some(0x0004_1303));
    assert_eq!(j.task_flags, Some(0));
    assert_eq!(j.triggers.len(), 1);
    let t = &j.triggers[0];
    assert_eq!(t.trigger_type, JobTriggerType::Daily);
    assert_eq!(t.begin_date.unwrap().to_string(), "2008-06-12");
    assert_eq!(t.end_date, None);
    assert_eq!(t.start_time.unwrap().to_string(), "09:30:00");
    assert_eq!(t.days_interval, Some(1));
    assert!(j.signature.is_none());
    assert!(j.warnings.is_empty(), "{:?}", j.warnings);

    let json = serde_json::to_string(&j).unwrap();
    assert!(json.contains("\"trigger_type\":\"daily\""));
    let back: JobFile = serde_json::from_str(&json).unwrap();
    assert_eq!(back, j);
}

#[test]
fn trigger_types_and_signature() {
    let b = JobBuilder {
        product_version: 0x0601,
        flags: 0x4 | 0x1 | 0x8000,
        status: 0x8004_1309,
        last_run: [0; 8],
        params: "",
        comment: "",
        reserved: None,
        user_data: vec![1, 2, 3, 4, 5],
        triggers: vec![
            // weekly, every 2 weeks, Monday+Friday, 10:15, repeat every 60 min for 8 h, end date
            trigger(
                2,
                [2020, 1, 6],
                [2020, 12, 31],
                (10, 15),
                480,
                60,
                0x1 | 0x2,
                [2, 0x2 | 0x20, 0],
            ),
            // monthly date: days 1, 15, 31 in January and December
            trigger(
                3,
                [2020, 1, 1],
                [0, 0, 0],
                (0, 0),
                0,
                0,
                0x4,
                [0x4001, 0x4000, 0x801],
            ),
            // monthly day-of-week: last Sunday of June
            trigger(
                4,
                [2020, 1, 1],
                [0, 0, 0],
                (23, 59),
                0,
                0,
                0,
                [5, 0x1, 0x20],
            ),
            trigger(0, [2021, 2, 28], [0, 0, 0], (8, 0), 0, 0, 0, [0, 0, 0]),
            trigger(5, [2021, 1, 1], [0, 0, 0], (0, 0), 0, 0, 0, [0, 0, 0]),
            trigger(6, [2021, 1, 1], [0, 0, 0], (0, 0), 0, 0, 0, [0, 0, 0]),
            trigger(7, [2021, 1, 1], [0, 0, 0], (0, 0), 0, 0, 0, [0, 0, 0]),
            trigger(9, [2021, 2, 30], [0, 0, 0], (25, 0), 0, 0, 0, [0, 0, 0]),
        ],
        signature: true,
        ..Default::default()
    };
    let j = parse_job(&b.build()).unwrap();
    assert_eq!(j.product_version_name.as_deref(), Some("Windows 7"));
    assert_eq!(j.flag_names, ["interactive", "disabled", "unknown_0x8000"]);
    assert!(j.is_disabled());
    assert_eq!(j.status, JobStatus::Other(0x8004_1309));
    assert_eq!(j.last_run_time, None);
    assert_eq!(j.parameters, None);
    assert_eq!(j.comment, None);
    assert_eq!(j.user_data_len, 5);
    assert_eq!(j.start_error, None);
    assert_eq!(j.command_line(), r"C:\WINDOWS\system32\cmd.exe");

    let t = &j.triggers;
    assert_eq!(t.len(), 8);
    assert_eq!(t[0].trigger_type, JobTriggerType::Weekly);
    assert_eq!(t[0].weeks_interval, Some(2));
    assert_eq!(t[0].days_of_week, ["Monday", "Friday"]);
    assert_eq!(t[0].end_date.unwrap().to_string(), "2020-12-31");
    assert_eq!(t[0].flag_names, ["has_end_date", "kill_at_duration_end"]);
    assert_eq!((t[0].duration_minutes, t[0].interval_minutes), (480, 60));
    assert_eq!(t[1].trigger_type, JobTriggerType::MonthlyDate);
    assert_eq!(t[1].days_of_month, [1, 15, 31]);
    assert_eq!(t[1].months, ["January", "December"]);
    assert_eq!(t[1].flag_names, ["disabled"]);
    assert_eq!(t[2].trigger_type, JobTriggerType::MonthlyDayOfWeek);
    assert_eq!(t[2].which_week, Some(5));
    assert_eq!(t[2].days_of_week, ["Sunday"]);
    assert_eq!(t[2].months, ["June"]);
    assert_eq!(t[2].start_time.unwrap().to_string(), "23:59:00");
    assert_eq!(t[3].trigger_type, JobTriggerType::Once);
    assert_eq!(t[4].trigger_type, JobTriggerType::OnIdle);
    assert_eq!(t[5].trigger_type, JobTriggerType::AtSystemStart);
    assert_eq!(t[6].trigger_type, JobTriggerType::AtLogon);
    assert_eq!(t[7].trigger_type, JobTriggerType::Other(9));
    assert_eq!(t[7].begin_date, None);
    assert_eq!(t[7].start_time, None);
    let w = j.warnings.join("\n");
    assert!(w.contains("unknown trigger type 9"), "{w}");
    assert!(w.contains("invalid begin date 2021-2-30"), "{w}");
    assert!(w.contains("invalid start time 25:0"), "{w}");

    let sig = j.signature.unwrap();
    assert_eq!(sig.signature_version, 1);
    assert_eq!(sig.signature_hex.len(), 128);
    assert!(sig.signature_hex.starts_with("000306090c0f"));
}

#[test]
fn non_ascii_strings_and_bad_utf16() {
    let b = JobBuilder {
        app: r"C:\Users\Jürgen\AppData\Local\Temp\платеж.exe",
        ..Default::default()
    };
    let j = parse_job(&b.build()).unwrap();
    assert_eq!(
        j.application_name.as_deref(),
        Some(r"C:\Users\Jürgen\AppData\Local\Temp\платеж.exe")
    );

    // Lone surrogate inside the author, NUL missing in the comment.
    let mut bytes = JobBuilder {
        author: "AB",
        comment: "",
        ..Default::default()
    }
    .build();
    let needle: Vec<u8> = [3u16, 'A' as u16, 'B' as u16, 0]
        .iter()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    bytes[at + 2..at + 4].copy_from_slice(&0xD800u16.to_le_bytes());
    bytes[at + 6..at + 8].copy_from_slice(&('C' as u16).to_le_bytes());
    let j = parse_job(&bytes).unwrap();
    assert_eq!(j.author.as_deref(), Some("\u{FFFD}BC"));
    let w = j.warnings.join("\n");
    assert!(w.contains("author: invalid UTF-16"), "{w}");
    assert!(w.contains("author: missing terminating NUL"), "{w}");
}

#[test]
fn header_errors() {
    assert_eq!(
        parse_job(&[]),
        Err(JobError::TooShort {
            needed: 68,
            found: 0
        })
    );
    let bytes = JobBuilder::default().build();
    assert!(matches!(
        parse_job(&bytes[..67]),
        Err(JobError::TooShort { found: 67, .. })
    ));
    let bad = JobBuilder {
        file_version: 2,
        ..Default::default()
    }
    .build();
    let err = parse_job(&bad).unwrap_err();
    assert!(matches!(
        err,
        JobError::BadHeader {
            field: "file version",
            found: 2,
            ..
        }
    ));
    assert!(err.to_string().contains("file version"));

    let mut bad = bytes.clone();
    bad[20..22].copy_from_slice(&4u16.to_le_bytes());
    assert!(matches!(
        parse_job(&bad),
        Err(JobError::BadHeader {
            field: "application name offset",
            ..
        })
    ));
    let text = b"This is a plain text file, definitely not a Task Scheduler job file!!";
    assert!(parse_job(text).is_err());
}

#[test]
fn every_truncation_is_an_error_with_partial() {
    let bytes = JobBuilder {
        signature: false,
        ..Default::default()
    }
    .build();
    for cut in 0..bytes.len() {
        let err = parse_job(&bytes[..cut]).expect_err(&format!("cut at {cut} parsed Ok"));
        if cut >= FIXED_LEN {
            let partial = err.partial().expect("partial after header");
            assert_eq!(partial.job_uuid, "{12345678-9ABC-DEF0-0102-030405060708}");
            assert!(err.to_string().contains("truncated"));
        }
    }
    // Cut inside the trigger array: the strings are all there.
    let err = parse_job(&bytes[..bytes.len() - 10]).unwrap_err();
    match err {
        JobError::Truncated { field, partial, .. } => {
            assert_eq!(field, "trigger #0 of 1");
            assert_eq!(
                partial.command_line(),
                r"C:\WINDOWS\system32\cmd.exe /c net user backdoor P@ss /add"
            );
            assert!(partial.triggers.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn huge_lengths_do_not_allocate_or_panic() {
    // Application name claims 65535 characters in a 200-byte file.
    let mut bytes = JobBuilder::default().build();
    bytes[70..72].copy_from_slice(&0xFFFFu16.to_le_bytes());
    match parse_job(&bytes) {
        Err(JobError::Truncated {
            field,
            needed,
            available,
            ..
        }) => {
            assert_eq!(field, "application name");
            assert_eq!(needed, 131_070);
            assert!(available < 1000);
        }
        other => panic!("{other:?}"),
    }

    // Trigger count 65535 with one real trigger.
    let b = JobBuilder::default();
    let mut bytes = b.build();
    let count_at = usize::from(u16::from_le_bytes([bytes[22], bytes[23]]));
    bytes[count_at..count_at + 2].copy_from_slice(&0xFFFFu16.to_le_bytes());
    let err = parse_job(&bytes).unwrap_err();
    let partial = err.partial().unwrap();
    assert_eq!(partial.triggers.len(), 1);
    assert!(err.to_string().contains("trigger #1 of 65535"));

    // User data / reserved lengths pointing past the end.
    let mut bytes = JobBuilder {
        reserved: None,
        triggers: vec![],
        ..Default::default()
    }
    .build();
    let n = bytes.len();
    // layout tail: user len (2) reserved len (2) trigger count (2)
    bytes[n - 6..n - 4].copy_from_slice(&0xFFFFu16.to_le_bytes());
    assert!(matches!(parse_job(&bytes), Err(JobError::Truncated { .. })));
}

#[test]
fn offsets_and_trailing_data_are_reported() {
    // Trigger offset that disagrees with the sequential position but is in range.
    let good = JobBuilder::default().build();
    let real = u16::from_le_bytes([good[22], good[23]]);
    let mut bytes = JobBuilder {
        trigger_offset_override: Some(real),
        ..Default::default()
    }
    .build();
    // Insert 4 junk bytes before the triggers and point the header at the new place.
    let at = usize::from(real);
    bytes.splice(at..at, [0xAA, 0xBB, 0xCC, 0xDD]);
    bytes[22..24].copy_from_slice(&(real + 4).to_le_bytes());
    let j = parse_job(&bytes).unwrap();
    assert_eq!(j.triggers.len(), 1);
    assert!(
        j.warnings.iter().any(|w| w.contains("using the header")),
        "{:?}",
        j.warnings
    );

    // Out-of-range trigger offset: sequential position is used.
    let mut bytes = good.clone();
    bytes[22..24].copy_from_slice(&0xFFF0u16.to_le_bytes());
    let j = parse_job(&bytes).unwrap();
    assert_eq!(j.triggers.len(), 1);
    assert!(j.warnings.iter().any(|w| w.contains("out of range")));

    let mut bytes = good;
    bytes.extend_from_slice(&[1, 2, 3]);
    let j = parse_job(&bytes).unwrap();
    assert!(
        j.warnings
            .iter()
            .any(|w| w.contains("3 unexpected trailing bytes"))
    );
}

#[test]
fn garbage_never_panics() {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let template = JobBuilder::default().build();
    for round in 0..2000 {
        let len = (next() % 600) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Half the rounds: keep a valid header prefix so the variable section gets fuzzed.
        if round % 2 == 0 && buf.len() >= 24 {
            buf[..24].copy_from_slice(&template[..24]);
        }
        let _ = parse_job(&buf);
    }
    // Mutated valid file: flip each byte once.
    for i in 0..template.len() {
        let mut m = template.clone();
        m[i] ^= 0xFF;
        if let Ok(j) = parse_job(&m) {
            let _ = serde_json::to_string(&j).unwrap();
        }
    }
}

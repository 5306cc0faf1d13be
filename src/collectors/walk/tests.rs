use super::*;
use crate::source::RootSource;
use std::os::unix::fs::symlink;

fn collect(
    src: &dyn FileSource,
    root: &str,
    limits: &WalkLimits,
    exclude: &[PathBuf],
) -> (Vec<String>, Vec<String>) {
    let cancel = Cancel::default();
    let mut w = Walker::new(src, exclude, &cancel);
    let (mut found, mut problems) = (Vec::new(), Vec::new());
    let _ = w.walk(Path::new(root), limits, &mut |e| {
        match e {
            Event::Found(f) => found.push(f.path.display().to_string()),
            Event::Problem(p) => problems.push(p.to_string()),
            Event::Listed { .. } => {}
        }
        CONTINUE
    });
    found.sort();
    (found, problems)
}

fn limits(depth: usize) -> WalkLimits {
    WalkLimits {
        max_depth: depth,
        cross_mounts: false,
        max_entries: 1000,
    }
}

#[test]
fn symlinked_dirs_are_reported_not_walked_and_depth_is_capped() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::create_dir_all(r.join("tmp/a/b/c")).unwrap();
    std::fs::write(r.join("tmp/a/b/c/deep.sh"), b"x").unwrap();
    std::fs::write(r.join("tmp/top.sh"), b"x").unwrap();
    symlink("/tmp", r.join("tmp/a/loop")).unwrap();
    symlink("/etc", r.join("tmp/etc")).unwrap();
    let src = RootSource::new(r.to_path_buf(), None).unwrap();
    let (found, problems) = collect(&src, "/tmp", &limits(10), &[]);
    assert_eq!(
        found,
        [
            "/tmp/a/b/c/deep.sh",
            "/tmp/a/loop",
            "/tmp/etc",
            "/tmp/top.sh"
        ]
    );
    assert!(problems.is_empty(), "{problems:?}");
    let (found, problems) = collect(&src, "/tmp", &limits(2), &[]);
    assert_eq!(found, ["/tmp/a/loop", "/tmp/etc", "/tmp/top.sh"]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("/tmp/a/b"), "{problems:?}");
    let (found, _) = collect(&src, "/tmp", &limits(1), &[]);
    assert_eq!(found, ["/tmp/etc", "/tmp/top.sh"]);
}

#[test]
fn excluded_dirs_and_entry_cap() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::create_dir_all(r.join("tmp/out")).unwrap();
    std::fs::write(r.join("tmp/out/archive.sh"), b"x").unwrap();
    std::fs::write(r.join("tmp/keep.sh"), b"x").unwrap();
    let src = RootSource::new(r.to_path_buf(), None).unwrap();
    let (found, problems) = collect(&src, "/tmp", &limits(10), &[PathBuf::from("/tmp/out")]);
    assert_eq!(found, ["/tmp/keep.sh"]);
    assert!(problems[0].contains("irsnap's own output"), "{problems:?}");
    // The walk root itself is never excluded: `-o /tmp` must not blind the collector.
    let (found, _) = collect(&src, "/tmp/out", &limits(10), &[PathBuf::from("/tmp/out")]);
    assert_eq!(found, ["/tmp/out/archive.sh"]);
    // An excluded file (irsnap's own binary) is skipped by name, its neighbours are not.
    let (found, problems) = collect(&src, "/tmp", &limits(10), &[PathBuf::from("/tmp/keep.sh")]);
    assert_eq!(found, ["/tmp/out/archive.sh"]);
    assert!(problems[0].contains("/tmp/keep.sh"), "{problems:?}");
    let mut few = limits(10);
    few.max_entries = 1;
    let (found, problems) = collect(&src, "/tmp", &few, &[]);
    assert_eq!(found, ["/tmp/keep.sh"]);
    assert!(problems[0].contains("more than 1 entries"), "{problems:?}");
}

#[test]
fn overlapping_roots_are_walked_once_and_missing_roots_are_silent() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::create_dir_all(r.join("tmp/sub")).unwrap();
    std::fs::write(r.join("tmp/sub/x.sh"), b"x").unwrap();
    let src = RootSource::new(r.to_path_buf(), None).unwrap();
    let cancel = Cancel::default();
    let mut w = Walker::new(&src, &[], &cancel);
    let mut n = 0;
    let mut count = |e: Event| {
        if matches!(e, Event::Found(_)) {
            n += 1;
        }
        CONTINUE
    };
    let _ = w.walk(Path::new("/tmp/sub"), &limits(5), &mut count);
    let _ = w.walk(Path::new("/tmp"), &limits(5), &mut count);
    let _ = w.walk(Path::new("/nonexistent"), &limits(5), &mut count);
    assert_eq!(n, 1);
}

#[test]
fn visitor_break_stops_the_walk() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    for i in 0..5 {
        std::fs::write(r.join("etc").join(format!("f{i}")), b"x").unwrap();
    }
    let src = RootSource::new(r.to_path_buf(), None).unwrap();
    let cancel = Cancel::default();
    let mut w = Walker::new(&src, &[], &cancel);
    let mut n = 0;
    let flow = w.walk(Path::new("/etc"), &limits(5), &mut |_| {
        n += 1;
        if n == 2 {
            ControlFlow::Break(())
        } else {
            CONTINUE
        }
    });
    assert!(flow.is_break());
    assert_eq!(n, 2);
}

#[test]
fn breadth_first_so_the_entry_cap_keeps_the_shallowest() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::create_dir_all(r.join("tmp/a/b")).unwrap();
    for i in 0..5 {
        std::fs::write(r.join(format!("tmp/a/b/deep{i}")), b"x").unwrap();
    }
    std::fs::write(r.join("tmp/z_top"), b"x").unwrap();
    std::fs::write(r.join("tmp/a/mid"), b"x").unwrap();
    let src = RootSource::new(r.to_path_buf(), None).unwrap();
    let mut few = limits(10);
    // tmp: a, z_top (2); tmp/a: b, mid (4); then the cap.
    few.max_entries = 4;
    let (found, problems) = collect(&src, "/tmp", &few, &[]);
    assert_eq!(found, ["/tmp/a/mid", "/tmp/z_top"]);
    assert!(problems[0].contains("more than 4 entries"), "{problems:?}");
}

#[test]
fn a_listed_directory_can_be_taken_over() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::create_dir_all(r.join("tmp/node_modules/x")).unwrap();
    std::fs::write(r.join("tmp/node_modules/x/i.js"), b"x").unwrap();
    std::fs::write(r.join("tmp/node_modules/.yarn-integrity"), b"x").unwrap();
    std::fs::write(r.join("tmp/keep.sh"), b"x").unwrap();
    let src = RootSource::new(r.to_path_buf(), None).unwrap();
    let cancel = Cancel::default();
    let mut w = Walker::new(&src, &[], &cancel);
    let (mut found, mut listed) = (Vec::new(), Vec::new());
    let _ = w.walk(Path::new("/tmp"), &limits(10), &mut |e| match e {
        Event::Listed { dir, depth, names } => {
            listed.push((dir.display().to_string(), depth, names.to_vec()));
            if dir.ends_with("node_modules") {
                ControlFlow::Continue(Descend::Skip)
            } else {
                CONTINUE
            }
        }
        Event::Found(f) => {
            found.push(f.path.display().to_string());
            CONTINUE
        }
        Event::Problem(p) => panic!("{p}"),
    });
    assert_eq!(found, ["/tmp/keep.sh"]);
    // The walk root is not offered; the names come sorted.
    assert_eq!(
        listed,
        [(
            "/tmp/node_modules".to_string(),
            1,
            vec![OsString::from(".yarn-integrity"), OsString::from("x")]
        )]
    );
}

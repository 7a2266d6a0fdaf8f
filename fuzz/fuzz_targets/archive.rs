//! `archive::scan_file` never panics on a corrupt or hostile archive under any name (picked by
//! the first byte: tar, tgz, zip, tar.zst, tar.xz, tar.bz2, tar.br, or a name that leaves the
//! format to the magic number), and stays within small limits. The reader takes a path, so each
//! input is written to one temporary file per process first.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mapvault::archive::{self, Limits};

const NAMES: [&str; 8] = [
    "input.tar",
    "input.tgz",
    "input.zip",
    "input.tar.zst",
    "input.tar.xz",
    "input.tar.bz2",
    "input.tar.br",
    "input.bin",
];

fn scratch() -> &'static std::path::Path {
    static P: OnceLock<std::path::PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("mapvault-fuzz-archive-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        // Small enough that a bomb stops early, large enough for real members.
        mapvault::budget::set_limit(8 << 20);
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    // 0, 1, 2 are tar, tgz, zip as before names were added, so the seeds keep their meaning.
    let path = scratch().join(NAMES[usize::from(sel) % NAMES.len()]);
    let mut f = std::fs::File::create(&path).expect("scratch file");
    f.write_all(bytes).expect("write scratch");
    drop(f);
    let limits = Limits {
        max_member: 1 << 20,
        max_total: 4 << 20,
        max_members: 1000,
        max_depth: 3,
        max_ratio: 1000,
    };
    let s = archive::scan_file(&path, "fuzz.tgz", limits);
    let _ = std::fs::remove_file(&path);
    assert!(s.members_scanned <= limits.max_members + 1);
});

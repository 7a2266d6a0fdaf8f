//! `archive::scan_file` never panics on a corrupt or hostile tar, tar.gz or zip (kind picked by
//! the first byte), and stays within small limits. The reader takes a path, so each input is
//! written to one temporary file per process first.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mapvault::archive::{self, Limits};
use mapvault::scan::ArchiveKind;

fn scratch() -> &'static std::path::Path {
    static P: OnceLock<std::path::PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("mapvault-fuzz-archive-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir.join("input")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let kind = match sel % 3 {
        0 => ArchiveKind::Tar,
        1 => ArchiveKind::TarGz,
        _ => ArchiveKind::Zip,
    };
    let path = scratch();
    let mut f = std::fs::File::create(path).expect("scratch file");
    f.write_all(bytes).expect("write scratch");
    drop(f);
    let limits = Limits {
        max_member: 1 << 20,
        max_total: 4 << 20,
        max_members: 1000,
        max_depth: 3,
        max_ratio: 1000,
    };
    let s = archive::scan_file(path, "fuzz.tgz", kind, limits);
    assert!(s.members_scanned <= limits.max_members + 1);
});

//! Issue 15: one memory budget for expanded bytes across all threads (`--max-expanded`,
//! `MAPVAULT_MAX_EXPANDED`): over it is an error naming the file, within it the verdict does not
//! depend on `--jobs`; and a closed stdout (`| head -c 100`) ends a command quietly with the
//! scan's exit code. Memory itself is measured by `benches/hostile/run.py`, not here.

use serde_json::Value;

use crate::harness::TestEnv;

/// `n` MiB of zeros as zstd: a few hundred bytes.
fn zstd_zeros(mib: usize) -> Vec<u8> {
    zstd::stream::encode_all(&vec![0u8; mib << 20][..], 3).expect("zstd")
}

#[test]
fn decompression_bombs_scanned_in_parallel_are_errors_naming_each_file() {
    let env = TestEnv::new();
    for i in 0..4 {
        env.write(format!("dist/bomb{i}.js.zst"), zstd_zeros(40));
    }
    env.write("dist/ok.js", "ok();\n");
    // 32 MiB in all: one file may expand to 24 MiB.
    let run = env
        .mapvault(["verify", "dist", "--jobs", "4", "--format", "json"])
        .env("MAPVAULT_MAX_EXPANDED", "32MiB")
        .expect_code(2);
    let v: Value = serde_json::from_slice(&run.stdout).expect("json");
    let errors = v["errors"].as_array().expect("errors");
    let paths: Vec<&str> = errors.iter().filter_map(|e| e["path"].as_str()).collect();
    assert_eq!(
        paths,
        [
            "bomb0.js.zst",
            "bomb1.js.zst",
            "bomb2.js.zst",
            "bomb3.js.zst"
        ],
        "{v}"
    );
    for e in errors {
        let m = e["message"].as_str().expect("message");
        assert!(
            m.contains("24.0 MiB") && m.contains("32.0 MiB") && m.contains("--max-expanded"),
            "{m}"
        );
    }
    // The flag beats the environment; human output names the files too.
    let run = env
        .mapvault(["verify", "dist", "--jobs", "4", "--max-expanded", "33MiB"])
        .env("MAPVAULT_MAX_EXPANDED", "1GiB")
        .expect_code(2);
    run.ensure(
        run.stdout_str().contains("bomb3.js.zst") || run.stderr_str().contains("bomb3.js.zst"),
        "names the file",
    );
}

/// 4 × 40 MiB with `--jobs 4` is more than a 128 MiB budget holds at once; each file alone
/// fits (96 MiB per file), so the threads take turns and every run is clean, whatever the
/// timing.
#[test]
fn files_that_fit_alone_all_pass_however_many_threads_share_the_budget() {
    let env = TestEnv::new();
    for i in 0..4 {
        env.write(format!("dist/big{i}.js.zst"), zstd_zeros(40));
    }
    for _ in 0..3 {
        env.mapvault(["verify", "dist", "--jobs", "4", "--max-expanded", "128MiB"])
            .expect_code(0);
    }
}

#[test]
fn a_bad_budget_is_a_usage_error() {
    let env = TestEnv::new();
    env.mkdir("dist");
    for bad in ["lots", "12", "0"] {
        let run = env
            .mapvault(["verify", "dist", "--max-expanded", bad])
            .expect_code(2);
        run.ensure(
            run.stderr_str().contains("--max-expanded"),
            "the message names the flag",
        );
    }
}

/// A dist whose reports are far longer than a pipe holds (64 KiB), so the command is still
/// writing when the reader goes away.
fn many_leaks(env: &TestEnv) {
    for i in 0..1500 {
        env.write(
            format!("dist/chunk-{i:04}.js"),
            format!("c{i}();\n//# sourceMappingURL=chunk-{i:04}.js.map\n"),
        );
        env.write(
            format!("dist/chunk-{i:04}.js.map"),
            r#"{"version":3,"sources":["a.ts"],"names":[],"mappings":"AAAA"}"#,
        );
    }
}

fn quiet_about_the_pipe(run: &crate::harness::Run) {
    run.ensure(
        !run.stderr_str().contains("Broken pipe") && !run.stderr_str().contains("error"),
        "a closed stdout is not an error",
    );
    run.ensure(run.stdout.len() <= 100, "read only 100 bytes");
}

#[test]
fn a_closed_stdout_ends_quietly_with_the_scans_exit_code() {
    let env = TestEnv::new();
    many_leaks(&env);
    for format in ["json", "human", "sarif"] {
        let run = env
            .mapvault(["verify", "dist", "--format", format])
            .stdout_head(100)
            .expect_code(1);
        quiet_about_the_pipe(&run);
    }
    // seal writes its report after the work is done: the dist is sealed all the same.
    let run = env
        .mapvault([
            "seal",
            "dist",
            "--vault",
            "vault",
            "--format",
            "json",
            "--verbose",
        ])
        .stdout_head(100)
        .expect_code(0);
    quiet_about_the_pipe(&run);
    env.mapvault(["verify", "dist"]).expect_code(0);
    let run = env
        .mapvault([
            "export", "--vault", "vault", "--out", "maps", "--format", "json",
        ])
        .stdout_head(100)
        .expect_code(0);
    quiet_about_the_pipe(&run);
    let run = env
        .mapvault(["unseal", "dist", "--vault", "vault", "--format", "json"])
        .stdout_head(100)
        .expect_code(0);
    quiet_about_the_pipe(&run);
    env.mapvault(["verify", "dist"]).expect_code(1);
}

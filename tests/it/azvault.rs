//! Remote vaults against a real Azure Blob server (Azurite on 127.0.0.1, `azurite.rs`), through
//! `--vault az://container/prefix --vault-option azure_storage_use_emulator=true`: the
//! scenarios of s3vault.rs (round trip with a multipart map, four concurrent seals, a crash at
//! every failpoint then a re-run, prune, write-once records, prune racing a seal, maps linked
//! into the cache and checked on the way up), and what is
//! Azure's own: no upload checksum, so every object is read back after its upload.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::azurite::AzServer;
use crate::harness::{TestCommand, TestEnv};
use crate::s3vault::{self, VaultBucket};

const CONTAINER: &str = "mapvault-it";

impl VaultBucket for AzServer {
    fn vault_args(&self, prefix: &str) -> Vec<String> {
        AzServer::vault_args(CONTAINER, prefix)
    }
    fn point(&self, cmd: &mut TestCommand, runner: Option<&str>) {
        match runner {
            None => self.apply(cmd),
            Some(r) => self.apply_as(cmd, r),
        };
    }
    fn cache(&self, runner: Option<&str>) -> PathBuf {
        runner.map_or_else(|| self.cache_dir(), |r| self.runner_cache_dir(r))
    }
    fn keys(&self, prefix: &str) -> BTreeSet<String> {
        self.list_keys(CONTAINER, prefix).into_iter().collect()
    }
    fn get_key(&self, key: &str) -> Option<Vec<u8>> {
        AzServer::get_key(self, CONTAINER, key)
    }
    fn put_key(&self, key: &str, bytes: &[u8]) {
        AzServer::put_key(self, CONTAINER, key, bytes);
    }
}

/// A fresh Azurite with the test container, or `None` (skipped locally only).
fn azurite(test: &str) -> Option<AzServer> {
    let az = AzServer::start(test)?;
    az.create_container(CONTAINER);
    Some(az)
}

#[test]
fn seal_list_resolve_export_unseal_through_azure_byte_exact() {
    let Some(az) = azurite("seal_list_resolve_export_unseal_through_azure_byte_exact") else {
        return;
    };
    s3vault::round_trip(&az);
}

#[test]
fn four_concurrent_seals_into_one_container_lose_nothing() {
    let Some(az) = azurite("four_concurrent_seals_into_one_container_lose_nothing") else {
        return;
    };
    s3vault::concurrent_seals(&az);
}

#[test]
fn an_azure_seal_crashed_at_every_failpoint_then_rerun_loses_no_map() {
    if !cfg!(feature = "failpoints") {
        return;
    }
    let Some(az) = azurite("an_azure_seal_crashed_at_every_failpoint_then_rerun") else {
        return;
    };
    s3vault::crash_at_every_failpoint(&az);
}

#[cfg(unix)]
#[test]
fn maps_are_linked_into_the_cache_and_checked_on_the_way_up_to_azure() {
    if !cfg!(feature = "failpoints") {
        return;
    }
    let Some(az) = azurite("maps_are_linked_into_the_cache_and_checked_on_the_way_up_to_azure")
    else {
        return;
    };
    s3vault::maps_are_linked_into_the_cache_and_checked_on_the_way_up(&az);
}

#[test]
fn prune_on_a_container_removes_old_seals_and_their_objects_only() {
    let Some(az) = azurite("prune_on_a_container_removes_old_seals_and_their_objects_only") else {
        return;
    };
    s3vault::prune_old_seals(&az);
}

#[test]
fn a_record_key_taken_meanwhile_is_never_written_over_in_azure() {
    if !cfg!(feature = "failpoints") {
        return;
    }
    let Some(az) = azurite("a_record_key_taken_meanwhile_is_never_written_over_in_azure") else {
        return;
    };
    s3vault::record_is_write_once(&az);
}

#[test]
fn azure_prune_racing_a_seal_loses_nothing() {
    if !cfg!(feature = "failpoints") {
        return;
    }
    let Some(az) = azurite("azure_prune_racing_a_seal_loses_nothing") else {
        return;
    };
    // 2 maps: the check looks each object up (s3vault.rs runs the listing path).
    s3vault::seal_repairs_objects_pruned_before_its_record(&az, 2);
    s3vault::prune_keeps_objects_a_new_record_names(&az);
}

/// Azure has no `x-amz-checksum-sha256`: the backend confirms each upload by reading it back
/// and hashing it. Every object the seal stored — one `Put Blob`, and the multipart map's
/// `Put Block`s + `Put Block List` — is read (`GET`) after its last upload request.
#[test]
fn every_object_uploaded_to_azure_is_read_back() {
    let Some(az) = azurite("every_object_uploaded_to_azure_is_read_back") else {
        return;
    };
    let env = TestEnv::new();
    s3vault::make_dist(&env, "dist", "rb", 2, true);
    let mut c = env.mapvault(["seal", "dist"]);
    c.args(AzServer::vault_args(CONTAINER, "rb"));
    az.apply(&mut c).ok();
    let reqs = az.requests();
    let maps = az.list_keys(CONTAINER, "rb/maps/");
    assert_eq!(maps.len(), 4, "{maps:?}");
    let mut multipart = false;
    for k in &maps {
        let path = format!("/{CONTAINER}/{k}");
        let last_put = reqs
            .iter()
            .rposition(|(m, p)| m == "PUT" && p.split('?').next() == Some(path.as_str()))
            .unwrap_or_else(|| panic!("no upload of {k}: {reqs:?}"));
        multipart |= reqs[last_put].1.contains("comp=blocklist");
        assert!(
            reqs[last_put..]
                .iter()
                .any(|(m, p)| m == "GET" && *p == path),
            "{k} was not read back after its upload"
        );
    }
    assert!(multipart, "the big map did not go up as blocks: {reqs:?}");
}

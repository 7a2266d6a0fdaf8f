//! `mapvault vault list` and `mapvault vault show ID`: what the archive holds, under the shared
//! lock. `list` reads the heads of the seals' derived indexes (index.rs; a v1 manifest not
//! migrated yet is read whole), `show` the one record asked for.
//!
//! `list --format json`: `{"vault", "seals": [{"id", "dist", "sealed_at", "tool", "files",
//! "maps", "bytes", "unsealed"}]}`, oldest first; `files` counts the record's files, `maps` its
//! moved maps, `bytes` the sizes of those maps as sealed. `show ID --format json`: `{"vault",
//! "seal": <the record as stored>, "unsealed": <its marker or null>}`.

use std::fs;

use anyhow::{Result, bail};
use serde::Serialize;

use super::Vault;
use super::manifest::{Action, SealRecord, Stored};
use super::seals::Unsealed;

/// One row of `vault list`.
#[derive(Debug, Clone, Serialize)]
pub struct SealSummary {
    pub id: String,
    pub dist: String,
    pub sealed_at: String,
    pub tool: String,
    pub files: u64,
    pub maps: u64,
    pub bytes: u64,
    /// When it was unsealed (`unsealed_at`), if it was.
    pub unsealed: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    pub vault: String,
    pub seals: Vec<SealSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    pub vault: String,
    pub seal: SealRecord,
    pub unsealed: Option<Unsealed>,
}

pub(crate) fn summary(r: &SealRecord, unsealed: Option<&Unsealed>) -> SealSummary {
    let maps: Vec<_> = r
        .files
        .iter()
        .filter(|f| f.action == Action::Moved && matches!(f.stored, Some(Stored::Map(_))))
        .collect();
    SealSummary {
        id: r.id.clone(),
        dist: r.dist.to_string(),
        sealed_at: r.sealed_at.clone(),
        tool: r.tool.clone(),
        files: r.files.len() as u64,
        maps: maps.len() as u64,
        bytes: maps.iter().map(|f| f.size).sum(),
        unsealed: unsealed.map(|u| u.unsealed_at.clone()),
    }
}

/// `vault list`.
pub fn list(vault: &super::VaultLoc, on_wait: &mut dyn FnMut(&str)) -> Result<ListReport> {
    let v = Vault::open_shared_at(vault, on_wait)?;
    // The counts are in the head of each seal's derived index (index.rs): no record and no
    // catalog is read.
    let set = v.load_heads()?;
    let unsealed = set.unsealed(&v)?;
    Ok(ListReport {
        vault: vault.display().to_string(),
        seals: set
            .seals
            .iter()
            .map(|s| SealSummary {
                id: s.id.clone(),
                dist: s.info.dist.to_string(),
                sealed_at: s.info.sealed_at.clone(),
                tool: s.info.tool.clone(),
                files: s.info.files,
                maps: s.info.maps,
                bytes: s.info.bytes,
                unsealed: unsealed.get(&s.id).map(|u| u.unsealed_at.clone()),
            })
            .collect(),
    })
}

/// `vault show ID`.
pub fn show(
    vault: &super::VaultLoc,
    id: &str,
    on_wait: &mut dyn FnMut(&str),
) -> Result<ShowReport> {
    let v = Vault::open_shared_at(vault, on_wait)?;
    v.check_marker()?;
    // One record of `seals/`, read alone; the whole set only while a v1 manifest is there.
    if super::manifest::is_record_id(id) && v.has_record(id) && v.load_v1()?.is_none() {
        let seal = v.load_record(id)?;
        let unsealed = match fs::symlink_metadata(v.unsealed_path(id)) {
            Ok(_) => Some(v.load_unsealed(id)?),
            Err(_) => None,
        };
        return Ok(ShowReport {
            vault: vault.display().to_string(),
            seal,
            unsealed,
        });
    }
    let recs = v.load_records()?;
    let Some(seal) = recs.get(id).cloned() else {
        bail!("no seal {id} in vault {}", vault.display());
    };
    Ok(ShowReport {
        vault: vault.display().to_string(),
        unsealed: recs.unsealed.get(id).cloned(),
        seal,
    })
}

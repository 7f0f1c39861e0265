//! What a rule sees when it runs: the mesh, and the reference data of this analysis (advisories,
//! the release table), passed in by whoever runs the analysis rather than read from globals, so
//! that two analyses in one process (the portal) can use different data.

use std::sync::Arc;

use meshcheck_model::Mesh;

use crate::facts::advisories::{self, AdvisoryData};
use crate::facts::releases::{self, ReleaseTable};

/// Reference data the version rules compare the mesh against.
#[derive(Debug, Clone)]
pub struct ReferenceData {
    pub advisories: Arc<AdvisoryData>,
    pub releases: Arc<ReleaseTable>,
}

impl ReferenceData {
    /// The data bundled with meshcheck.
    pub fn bundled() -> ReferenceData {
        ReferenceData {
            advisories: advisories::bundled(),
            releases: releases::bundled(),
        }
    }

    /// The bundled data with these advisories instead (`--advisories FILE`).
    pub fn with_advisories(advisories: AdvisoryData) -> ReferenceData {
        ReferenceData {
            advisories: Arc::new(advisories),
            ..ReferenceData::bundled()
        }
    }
}

impl Default for ReferenceData {
    fn default() -> ReferenceData {
        ReferenceData::bundled()
    }
}

/// The inputs of one rule run.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub mesh: &'a Mesh,
    pub reference: &'a ReferenceData,
}

impl<'a> Context<'a> {
    pub fn new(mesh: &'a Mesh, reference: &'a ReferenceData) -> Context<'a> {
        Context { mesh, reference }
    }
}

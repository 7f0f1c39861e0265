//! What the input shows completely. A collected cluster lists every object of a kind unless its
//! collection gaps name that kind; only then does a missing object mean that it does not exist
//! rather than that it was not part of the files analyzed.

use meshcheck_model::{InputSource, Kind, Mesh};

/// Whether the input is a collected cluster in which every object of `kind` was listed.
pub(crate) fn cluster_lists_every(mesh: &Mesh, kind: Kind) -> bool {
    mesh.cluster.source != InputSource::Manifests
        && !mesh
            .cluster
            .collection_gaps
            .iter()
            .any(|gap| gap.kind == kind.name())
}

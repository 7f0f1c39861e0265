//! The facts rule families share: workloads with their templates and pods, proxies and their
//! effective configuration, mTLS resolution, authorization scopes, destination TLS, mesh config,
//! routes, gateways, control planes, the Secrets that exist (and what produces them), what the
//! input can show (coverage) and the reference data (advisories, releases). Families
//! read these modules and never import each other; each fact that costs a pass over the mesh
//! is built once per run (see [`prepare`]).

pub mod advisories;
pub(crate) mod authz;
pub(crate) mod availability;
pub(crate) mod coverage;
pub(crate) mod destination_tls;
pub(crate) mod duration;
pub(crate) mod gateways;
pub(crate) mod injector;
pub(crate) mod mesh_config;
pub(crate) mod mtls;
pub(crate) mod namespaces;
pub(crate) mod planes;
pub(crate) mod policies;
pub(crate) mod proxy_config;
pub mod releases;
pub(crate) mod routes;
pub(crate) mod secrets;
pub(crate) mod states;
pub(crate) mod virtual_services;
pub(crate) mod workloads;

use meshcheck_model::{Mesh, inventory};

/// Builds the facts many rules share, independent ones in parallel, before the rules start: a
/// rule that needs a fact another rule is building waits for it, and with few cores the waits
/// would leave cores idle.
pub fn prepare(mesh: &Mesh) {
    rayon::join(
        || rayon::join(|| mesh.workloads(), || proxy_config::prepare(mesh)),
        || {
            rayon::join(
                || {
                    inventory::proxies(mesh);
                    workloads::prepare(mesh);
                },
                || {
                    inventory::gateways(mesh);
                    inventory::control_planes(mesh);
                    mesh_config::prepare(mesh);
                },
            )
        },
    );
}

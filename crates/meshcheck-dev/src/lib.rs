//! A synthetic but realistic mesh, for benchmarks and scale tests: N namespaces × M services ×
//! P pods with the objects a production mesh has (Deployments, Pods with sidecars, Services,
//! VirtualServices with retries and timeouts, DestinationRules with subsets and outlier detection,
//! AuthorizationPolicies, a Sidecar and a Gateway per namespace, mesh config) and a known set of
//! planted faults, so that rules do real work and a run can be checked for finding all of them.

mod generate;
mod output;

pub use generate::{Fault, GeneratedMesh, MeshShape, generate};
pub use output::{Format, write_archive, write_manifests};

//! The mesh model: every input object resolved to a [`Kind`], with the indexes rules share
//! (by kind and name, pods by labels, hosts by visibility scope) and the mesh-wide configuration.
//! Built once per run; rules only read it.

pub mod cluster;
mod derived;
pub mod hosts;
pub mod inventory;
mod kind;
mod mesh;
pub mod meshconfig;
mod pod_template;
pub mod protocol;
pub mod proxy_stats;
mod resource;
pub mod selector;
mod stand_in;
mod value_at;
pub mod virtual_service;
pub mod workloads;

pub use cluster::{ClusterInfo, CollectionGap, InputSource};
pub use derived::DerivedCache;
pub use kind::Kind;
pub use mesh::{Mesh, MeshInputs, SYSTEM_NAMESPACES};
pub use pod_template::{Container, PodTemplate, pod_path};
pub use protocol::Protocol;
pub use proxy_stats::{PodRef, ProxyStats, ProxyStatsError};
pub use resource::{Resource, ResourceId, items, str_field, strings};
pub use stand_in::{STAND_IN_INGRESS_PORTS, StandInIngress};
pub use value_at::ValueAt;
pub use workloads::{Workload, WorkloadIndex};

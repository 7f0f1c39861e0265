//! Connecting the way kubectl does: a kubeconfig file (`--kubeconfig`, else `KUBECONFIG`, else
//! `~/.kube/config`) and a context (`--context`, else the current one), with exec and OIDC auth
//! plugins; or the in-cluster service account when there is no kubeconfig at all.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::CollectError;

/// Which cluster to read.
#[derive(Debug, Clone, Default)]
pub struct ClusterTarget {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// A client bound to one cluster, with the names used in messages and the archive.
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    /// The kubeconfig context (`in-cluster` for service-account auth).
    pub context: String,
    /// The API server URL.
    pub server: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("context", &self.context)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Renders an error with its causes on one line (a cause already quoted by its parent is left
/// out), for messages about the API server or any other HTTP peer.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

impl ClusterTarget {
    /// Resolves the configuration and builds a client. Nothing is requested from the server yet.
    pub async fn connect(&self) -> Result<Connection, CollectError> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..KubeConfigOptions::default()
        };
        let kubeconfig = match &self.kubeconfig {
            Some(path) => Some(Kubeconfig::read_from(path).map_err(|error| {
                CollectError::Config(format!("{}: {}", path.display(), error_chain(&error)))
            })?),
            None => match Kubeconfig::read() {
                Ok(kubeconfig) => Some(kubeconfig),
                // An explicit context needs a kubeconfig; otherwise fall back to in-cluster.
                Err(error) if self.context.is_some() => {
                    return Err(CollectError::Config(error_chain(&error)));
                }
                Err(_) => None,
            },
        };
        let (mut config, context) = match kubeconfig {
            Some(kubeconfig) => {
                let context = self
                    .context
                    .clone()
                    .or_else(|| kubeconfig.current_context.clone())
                    .unwrap_or_default();
                if !kubeconfig
                    .contexts
                    .iter()
                    .any(|named| named.name == context)
                {
                    return Err(CollectError::Config(format!(
                        "context {context:?} not found in the kubeconfig"
                    )));
                }
                let config = Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|error| CollectError::Config(error_chain(&error)))?;
                (config, context)
            }
            None => {
                let config = Config::incluster().map_err(|error| {
                    CollectError::Config(format!(
                        "no kubeconfig found (KUBECONFIG, ~/.kube/config) and not running in a cluster: {}",
                        error_chain(&error)
                    ))
                })?;
                (config, "in-cluster".to_owned())
            }
        };
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(60));
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_owned();
        let client = Client::try_from(config).map_err(|error| CollectError::Unreachable {
            server: server.clone(),
            context: context.clone(),
            reason: error_chain(&error),
        })?;
        Ok(Connection {
            client,
            context,
            server,
        })
    }
}

//! `meshcheck admin`: tokens of the portal, read and written in its database directly.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use meshcheck_server::Role;
use meshcheck_server::state::{now_micros, rfc3339};
use meshcheck_server::store::{self, AuditEntry, MetadataStore};

use crate::cli::{AdminCommand, AdminStore, RulesFormat, TokenRole};

fn open(args: &AdminStore) -> anyhow::Result<Box<dyn MetadataStore>> {
    let data_dir = args.data_dir.as_deref().unwrap_or(Path::new("."));
    Ok(store::open(data_dir, args.database.as_deref())?)
}

fn role(role: TokenRole) -> Role {
    match role {
        TokenRole::Viewer => Role::Viewer,
        TokenRole::Uploader => Role::Uploader,
        TokenRole::Admin => Role::Admin,
    }
}

fn audit(store: &dyn MetadataStore, tenant_id: i64, token_id: &str, action: &str) {
    let entry = AuditEntry {
        time: now_micros(),
        tenant_id: Some(tenant_id),
        token_id: Some(token_id.to_owned()),
        action: action.to_owned(),
        snapshot_id: None,
        outcome: "ok (meshcheck admin)".to_owned(),
    };
    if let Err(error) = store.audit(&entry) {
        eprintln!("meshcheck: warning: audit log: {error}");
    }
}

pub fn run(command: AdminCommand) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::CreateToken(args) => {
            let store = open(&args.store)?;
            let new = meshcheck_server::tokens::create(
                store.as_ref(),
                &args.tenant,
                role(args.role),
                now_micros(),
            )?;
            audit(
                store.as_ref(),
                new.record.tenant_id,
                &new.record.id,
                "create-token",
            );
            eprintln!(
                "meshcheck: created {} token {} for tenant {}; store it now, it cannot be shown again",
                new.record.role, new.record.id, new.record.tenant
            );
            println!("{}", new.token);
        }
        AdminCommand::ListTokens(args) => {
            let store = open(&args.store)?;
            let tokens = store.list_tokens()?;
            let time = |micros: Option<i64>| micros.map(rfc3339);
            match args.output {
                RulesFormat::Json => {
                    let rows: Vec<serde_json::Value> = tokens
                        .iter()
                        .map(|token| {
                            serde_json::json!({
                                "id": token.id,
                                "tenant": token.tenant,
                                "role": token.role,
                                "created_at": rfc3339(token.created_at),
                                "last_used_at": time(token.last_used_at),
                                "revoked_at": time(token.revoked_at),
                            })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&rows)?);
                }
                RulesFormat::Text => {
                    println!(
                        "{:<12}  {:<20}  {:<8}  {:<20}  {:<20}  REVOKED",
                        "ID", "TENANT", "ROLE", "CREATED", "LAST USED"
                    );
                    for token in &tokens {
                        let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".into());
                        println!(
                            "{:<12}  {:<20}  {:<8}  {:<20}  {:<20}  {}",
                            token.id,
                            token.tenant,
                            token.role.as_str(),
                            rfc3339(token.created_at),
                            or_dash(time(token.last_used_at)),
                            or_dash(time(token.revoked_at)),
                        );
                    }
                }
            }
        }
        AdminCommand::RevokeToken(args) => {
            let store = open(&args.store)?;
            let id = args
                .id
                .trim()
                .trim_start_matches("mck_")
                .split('_')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let Some(token) = store.token(&id)? else {
                bail!("no token with id {id:?} (see meshcheck admin list-tokens)");
            };
            store.revoke_token(&id, now_micros())?;
            audit(store.as_ref(), token.tenant_id, &id, "revoke-token");
            eprintln!(
                "meshcheck: revoked token {id} of tenant {}{}",
                token.tenant,
                if token.revoked_at.is_some() {
                    " (it was already revoked)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! `idp roles …`: the role catalogue (`[[roles]]` in the configuration) with the
//! built-in `super_admin`.

use crate::config::{Config, RoleDef, Texts};
use crate::db::users::Role;
use clap::Subcommand;
use serde_json::json;

/// `idp roles …`.
#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// List the roles a Super Admin may grant: the built-in super_admin (released to
    /// every client, shown as `*`) and the configured catalogue.
    List {
        /// Print JSON: an array of {name, built_in, clients, label, description}.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `cmd`.
///
/// # Errors
/// None today; the signature matches the other subcommands.
pub(super) fn roles(config: &Config, cmd: RolesCommand) -> anyhow::Result<()> {
    let RolesCommand::List { json } = cmd;
    let all = catalogue(config);
    if json {
        let rows: Vec<_> = all
            .iter()
            .map(|(def, built_in)| {
                json!({
                    "name": def.name,
                    "built_in": built_in,
                    "clients": def.clients,
                    "label": def.label,
                    "description": def.description,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    for (def, built_in) in &all {
        let kind = if *built_in { " (built in)" } else { "" };
        println!("{}{kind}", def.name);
        println!("  clients:     {}", def.clients.join(", "));
        println!("  label:       {} | {}", def.label.en, def.label.de);
        println!("  description: {}", def.description.en);
        println!("               {}", def.description.de);
    }
    Ok(())
}

/// The built-in `super_admin` (clients `*`), then the configured catalogue; each
/// with whether it is built in.
fn catalogue(config: &Config) -> Vec<(RoleDef, bool)> {
    let text = |key: &str| {
        Texts::new(
            &crate::ui::i18n::text("en", key, &[]),
            &crate::ui::i18n::text("de", key, &[]),
        )
    };
    let super_admin = RoleDef {
        name: Role::SUPER_ADMIN.to_owned(),
        clients: vec!["*".to_owned()],
        label: text("company.super_admin"),
        description: text("company.super_admin_description"),
    };
    std::iter::once((super_admin, true))
        .chain(config.roles.iter().map(|def| (def.clone(), false)))
        .collect()
}

//! The role catalogue (`[[roles]]`, docs/configuration.md): the roles a company's
//! Super Admin may grant, with their labels and descriptions in English and German,
//! and the relying parties (client_ids) each is released to in the `roles` claim.
//! `super_admin` is built in, never part of the catalogue, and released to every
//! client.

use serde::{Deserialize, Serialize};

/// A role of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(default)]
pub struct RoleDef {
    /// The role's name as the `roles` claim carries it: 1 to 100 of
    /// `a-z 0-9 : . _ -` (the rules of `db::users::Role::parse`), unique, never
    /// `super_admin`; by convention `<client_id>:<role>`.
    pub name: String,
    /// The client_ids whose tokens carry the role in their `roles` claim; at least one.
    pub clients: Vec<String>,
    /// What the company pages show as the role's name; both languages non-empty.
    pub label: Texts,
    /// One line on what the role allows; both languages non-empty.
    pub description: Texts,
}

impl RoleDef {
    /// Whether the role is released to `client_id` (listed in [`RoleDef::clients`]).
    pub fn releases_to(&self, client_id: &str) -> bool {
        self.clients.iter().any(|c| c == client_id)
    }
}

/// A text in English and German.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(default)]
pub struct Texts {
    /// English.
    pub en: String,
    /// German.
    pub de: String,
}

impl Texts {
    /// The texts `en` and `de`.
    pub fn new(en: &str, de: &str) -> Self {
        Self {
            en: en.to_owned(),
            de: de.to_owned(),
        }
    }

    /// The text in `lang` (`de`, else English).
    pub fn get(&self, lang: &str) -> &str {
        if lang == "de" {
            &self.de
        } else {
            &self.en
        }
    }
}

/// The catalogue when the configuration has no `roles`: three example roles of the
/// demo portals (relying-party-demo/README.md), `customer-portal:licenses` and
/// `customer-portal:support-cases` released to `customer-portal`, and
/// `app-portal:apps.install` released to `app-portal`.
pub fn default_catalogue() -> Vec<RoleDef> {
    let role = |name: &str, client: &str, label: Texts, description: Texts| RoleDef {
        name: name.to_owned(),
        clients: vec![client.to_owned()],
        label,
        description,
    };
    vec![
        role(
            "customer-portal:licenses",
            "customer-portal",
            Texts::new("Licenses", "Lizenzen"),
            Texts::new(
                "View and manage the company's licenses in the Customer Portal.",
                "Lizenzen der Firma im Kundenportal ansehen und verwalten.",
            ),
        ),
        role(
            "customer-portal:support-cases",
            "customer-portal",
            Texts::new("Support cases", "Supportfälle"),
            Texts::new(
                "Open and follow the company's support cases in the Customer Portal.",
                "Supportfälle der Firma im Kundenportal eröffnen und verfolgen.",
            ),
        ),
        role(
            "app-portal:apps.install",
            "app-portal",
            Texts::new("Install apps", "Apps installieren"),
            Texts::new(
                "Install apps for the company from the App Portal.",
                "Apps für die Firma aus dem App-Portal installieren.",
            ),
        ),
    ]
}

impl super::Config {
    /// The catalogue role named `name`; `None` for `super_admin` (built in) and
    /// names the catalogue does not have.
    pub fn role(&self, name: &str) -> Option<&RoleDef> {
        self.roles.iter().find(|r| r.name == name)
    }
}

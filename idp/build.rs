//! Embeds `templates/` in the binary (minijinja-embed), so the provider needs no
//! template files at run time.

fn main() {
    minijinja_embed::embed_templates!("templates");
    // `sqlx::migrate!` embeds the migrations: a new or changed one rebuilds the crate.
    println!("cargo:rerun-if-changed=../migrations");
    // rust-i18n compiles `locales/` in: a changed text rebuilds the crate too.
    println!("cargo:rerun-if-changed=locales");
}

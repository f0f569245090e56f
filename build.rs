// `sqlx::migrate!` embeds the migrations when the crate compiles: a migration file
// added or changed must rebuild it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

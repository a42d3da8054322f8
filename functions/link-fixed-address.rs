//! Build script of every function crate (each `Cargo.toml` says
//! `build = "../link-fixed-address.rs"`).
//!
//! Links the function's Lambda binary as a fixed-address (non-PIE) executable. Position-
//! independent (the default), a binary of this size carries ~21,000 relative relocations that
//! the loader applies at every cold start, copying ~80 pages of `.data.rel.ro` on write; at a
//! fixed address the linker resolves them once (docs/performance.md, "Fixed-address binaries
//! and one thread"). Only the `bin` targets: the crate's library, which the tests and the local
//! gateway link, is untouched, and the code stays position-independent (a dependency's `cdylib`
//! still links). Why losing the executable's address randomisation is acceptable here:
//! docs/decisions.md, "Fixed-address binaries".
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
    println!("cargo:rerun-if-changed=../link-fixed-address.rs");
}

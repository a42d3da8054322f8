//! The SDK floor and the second hello-world are linked as the functions are (at a fixed
//! address, `functions/link-fixed-address.rs`); `hello-lambda` stays the default-built
//! reference the targets are stated against.
fn main() {
    for binary in ["hello-lambda-as-functions", "hello-dynamodb"] {
        println!("cargo:rustc-link-arg-bin={binary}=-no-pie");
    }
}

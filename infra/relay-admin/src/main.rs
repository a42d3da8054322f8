//! `relay-admin`: see the crate's documentation (`src/lib.rs`) and the README's "Deploy to AWS".
//! Bad arguments print one line and exit 2; a failed command exits 1.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || matches!(args[0].as_str(), "help" | "--help" | "-h") {
        println!("{}", relay_admin::USAGE);
        return ExitCode::from(if args.is_empty() { 2 } else { 0 });
    }
    let env = |name: &str| adapters::config::optional(name);
    let mut out = std::io::stdout();
    match relay_admin::run(&args, &env, &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let first_line = error.to_string();
            let first_line = first_line.lines().next().unwrap_or_default();
            eprintln!("relay-admin: {first_line}");
            ExitCode::from(error.exit_code())
        }
    }
}

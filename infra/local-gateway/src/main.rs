//! `local-gateway`: run the product locally, mint dev tokens, or create the emulator resources.
//!
//! ```text
//! cargo run -p local-gateway                      # serve on 127.0.0.1:$PORT (default 3000)
//! cargo run -p local-gateway -- token --role end_user --sub alice [--account demo] [--ttl 3600]
//! cargo run -p local-gateway -- provision         # create resources on $AWS_ENDPOINT_URL
//! cargo run -p local-gateway -- export-resources  # print localstack/init/resources.json
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use adapters::wiring::load_aws_config;
use domain::model::Role;
use use_cases::auth::mint_token;
use use_cases::backend::{dev_signing_secret, DEMO_ACCOUNT, DEV_KID};

const USAGE: &str = "usage: local-gateway [serve | token --role ROLE --sub USER [--account ACCT] [--kid KID] [--ttl SECONDS] | provision | export-resources]";

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn token(args: &[String]) -> Result<String, String> {
    let role = flag(args, "--role").ok_or("--role is required")?;
    let role = Role::parse(&role).ok_or("--role must be end_user, agent or admin")?;
    let sub = flag(args, "--sub").ok_or("--sub is required")?;
    let account = flag(args, "--account").unwrap_or_else(|| DEMO_ACCOUNT.into());
    let kid = flag(args, "--kid").unwrap_or_else(|| DEV_KID.into());
    let ttl: i64 = flag(args, "--ttl")
        .map(|t| t.parse().map_err(|_| "--ttl must be a number of seconds"))
        .transpose()?
        .unwrap_or(3600);
    if !(1..=use_cases::auth::MAX_TOKEN_LIFETIME_SECS).contains(&ttl) {
        return Err(format!(
            "--ttl must be 1 to {} seconds (tokens live at most a week)",
            use_cases::auth::MAX_TOKEN_LIFETIME_SECS
        ));
    }
    let now = domain::now_ms() / 1000;
    Ok(mint_token(
        &account,
        &kid,
        &dev_signing_secret(),
        &sub,
        role,
        now,
        ttl,
    ))
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match adapters::config::optional("PORT") {
        Some(p) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number, got {p:?}"))?,
        None => 3000,
    };
    let (backend, local, kind) = local_gateway::backend_from_env().await?;
    let (addr, server) = local_gateway::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        backend,
        local,
    )
    .await?;
    println!("local-gateway listening on http://{addr}");
    println!("backend: {kind}");
    println!("demo account `{DEMO_ACCOUNT}`, key `{DEV_KID}`; mint a token with: cargo run -p local-gateway -- token --role end_user --sub alice");
    // Tokens in the fragment: the browser keeps them, no server ever receives them.
    let console = |role: Role, sub: &str| {
        let now = domain::now_ms() / 1000;
        let token = mint_token(
            DEMO_ACCOUNT,
            DEV_KID,
            &dev_signing_secret(),
            sub,
            role,
            now,
            12 * 3600,
        );
        format!("http://{addr}/console/#token={token}")
    };
    println!();
    println!("  the shop with the widget:  http://{addr}/demo/");
    println!(
        "  the agent console:         {}",
        console(Role::Agent, local_gateway::DEMO_AGENT)
    );
    println!(
        "  the console as an admin:   {}",
        console(Role::Admin, "admin-1")
    );
    println!();
    tokio::select! {
        _ = server => {}
        _ = tokio::signal::ctrl_c() => println!("shutting down"),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    edge::logging::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result: Result<(), Box<dyn std::error::Error>> = match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("token") => token(&args).map(|t| println!("{t}")).map_err(Into::into),
        Some("provision") => {
            async {
                if adapters::config::optional("AWS_ENDPOINT_URL").is_none() {
                    return Err(
                        "provision needs AWS_ENDPOINT_URL (e.g. http://127.0.0.1:4566)".into(),
                    );
                }
                let config = load_aws_config().await;
                let provisioned = infra::ensure(
                    &config,
                    &infra::definition(&local_gateway::resource_prefix()),
                )
                .await?;
                println!("{provisioned:#?}");
                Ok(())
            }
            .await
        }
        Some("export-resources") => {
            let json = infra::definition(infra::DEFAULT_PREFIX).to_bootstrap_json();
            serde_json::to_string_pretty(&json)
                .map(|text| println!("{text}"))
                .map_err(Into::into)
        }
        Some(_) => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("local-gateway: {error}");
            ExitCode::FAILURE
        }
    }
}

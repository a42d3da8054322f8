//! The README's "Deploy to AWS" commands that can run on the emulator do (#42): the block that
//! sets `ADMIN_CLI` is run by bash, with `ADMIN_CLI` as this package's binary and the stack
//! found by the functions' environment variables (a freshly provisioned stack of its own)
//! instead of `--stack`. Every command must succeed and the secret must land in its file.

use std::process::Command;

#[tokio::test]
async fn the_readmes_relay_admin_commands_run_against_the_emulator() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL: run through scripts/test.sh, which starts the emulator");
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let section = readme
        .split_once("## Deploy to AWS")
        .expect("a deploy section")
        .1;
    let block = section
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split_once("```").expect("a block's end").0)
        .find(|b| b.contains("ADMIN_CLI="))
        .expect("the relay-admin block");
    let script: String = block
        .lines()
        .filter(|l| !l.starts_with("ADMIN_CLI="))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(script.matches("$ADMIN_CLI").count() >= 2, "{script}");

    let prefix = format!("rd{}", &domain::ids::new_id("x")[2..10]);
    let sdk = adapters::wiring::load_aws_config().await;
    let resources = infra::definition(&prefix);
    let provisioned = infra::ensure(&sdk, &resources).await.expect("provision");
    let work = std::env::temp_dir().join(&prefix);
    std::fs::create_dir_all(&work).expect("work dir");
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .current_dir(&work)
        .env("ADMIN_CLI", env!("CARGO_BIN_EXE_relay-admin"))
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("TABLE_NAME", &provisioned.table_name)
        .env("ATTACHMENTS_BUCKET", &provisioned.bucket_name);
    for queue in &resources.queues {
        command.env(
            queue.env_var,
            provisioned.queue_url(queue.logical_id).expect("queue"),
        );
    }
    let output = command.output().expect("run bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ok: table"), "doctor: {stdout}");
    assert!(stdout.contains("admin_token: "), "{stdout}");
    let secret = std::fs::read_to_string(work.join("acme-signing.secret")).expect("the secret");
    assert!(secret.trim().len() >= 64);
    assert!(!stdout.contains(secret.trim()), "the secret was printed");
}

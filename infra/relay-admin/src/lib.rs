//! `relay-admin`: what an operator needs to adopt and run a deployed stack, on the same
//! adapters and use cases as the functions (so the contract tests that cover those cover this):
//! create an account, manage its signing keys, mint a token, move dead-lettered messages back
//! to work, and check that a stack is wired as the product defines it.
//!
//! The stack is found by `--stack NAME` (its CloudFormation outputs) or by the functions' own
//! environment variables (`TABLE_NAME`, `ROUTING_QUEUE_URL`, …); `AWS_ENDPOINT_URL` points it
//! at an emulator. Secrets are printed once on stdout, or written to `--secret-file` (mode
//! 0600), and never logged.

use std::collections::BTreeMap;
use std::io::Write;

use adapters::config::FunctionConfig;
use domain::model::Role;
use thiserror::Error;
use use_cases::auth::{mint_token, Principal, MAX_TOKEN_LIFETIME_SECS};
use use_cases::backend::Backend;
use use_cases::signing_keys;

pub const USAGE: &str = "usage: relay-admin [--stack NAME] <command>
  create-account --account ACCT [--name NAME] [--admin ID] [--secret-file PATH]
  keys create --account ACCT [--secret-file PATH]
  keys list --account ACCT
  keys revoke --account ACCT --kid KID
  token --account ACCT --kid KID --role end_user|agent|admin --sub ID [--ttl SECS]
  redrive routing|settings-effects|attachment-events|webhooks|reactions|email-inbound
  doctor";

#[derive(Debug, Error)]
pub enum AdminError {
    /// Bad arguments or missing configuration: one line, exit 2.
    #[error("{0}")]
    Usage(String),
    /// The stack is not as defined (`doctor`): exit 1.
    #[error("{0} problem(s) found")]
    Unhealthy(usize),
    #[error("{0}")]
    Failed(String),
}

impl AdminError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Usage(_) => 2,
            _ => 1,
        }
    }
}

fn usage(message: impl Into<String>) -> AdminError {
    AdminError::Usage(message.into())
}

fn failed(error: impl std::fmt::Display) -> AdminError {
    AdminError::Failed(error.to_string())
}

/// The arguments: positional words and `--flag value` options.
struct Args {
    words: Vec<String>,
    options: BTreeMap<String, String>,
}

impl Args {
    fn parse(args: &[String]) -> Result<Self, AdminError> {
        let (mut words, mut options) = (Vec::new(), BTreeMap::new());
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            match arg.strip_prefix("--") {
                Some(name) => {
                    let value = iter
                        .next()
                        .ok_or_else(|| usage(format!("--{name} needs a value")))?;
                    if options.insert(name.to_string(), value.clone()).is_some() {
                        return Err(usage(format!("--{name} given twice")));
                    }
                }
                None => words.push(arg.clone()),
            }
        }
        Ok(Self { words, options })
    }

    fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    fn required(&self, name: &str) -> Result<&str, AdminError> {
        self.option(name)
            .ok_or_else(|| usage(format!("--{name} is required")))
    }

    /// Refuses options the command does not take.
    fn only(&self, allowed: &[&str]) -> Result<(), AdminError> {
        match self
            .options
            .keys()
            .find(|k| !allowed.contains(&k.as_str()) && k.as_str() != "stack")
        {
            Some(unknown) => Err(usage(format!("unknown option --{unknown}"))),
            None => Ok(()),
        }
    }
}

/// Where the stack's resources are, by the functions' environment variable names.
pub type Lookup<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// The template's outputs, by the environment variable each one stands for.
pub const STACK_OUTPUTS: &[(&str, &str)] = &[
    ("MessagingTableName", "TABLE_NAME"),
    ("RoutingQueueUrl", "ROUTING_QUEUE_URL"),
    ("SettingsEffectsQueueUrl", "SETTINGS_EFFECTS_QUEUE_URL"),
    ("AttachmentEventsQueueUrl", "ATTACHMENT_EVENTS_QUEUE_URL"),
    ("WebhookQueueUrl", "WEBHOOK_QUEUE_URL"),
    ("ReactionsQueueUrl", "REACTIONS_QUEUE_URL"),
    ("EmailInboundQueueUrl", "EMAIL_INBOUND_QUEUE_URL"),
    ("ApiUrl", "API_URL"),
    ("AttachmentsBucketName", "ATTACHMENTS_BUCKET"),
];

async fn stack_outputs(
    sdk: &aws_config::SdkConfig,
    stack: &str,
) -> Result<BTreeMap<String, String>, AdminError> {
    let described = aws_sdk_cloudformation::Client::new(sdk)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            usage(format!(
                "stack {stack}: {}",
                aws_sdk_cloudformation::error::DisplayErrorContext(e)
            ))
        })?;
    let outputs = described
        .stacks()
        .first()
        .map(|s| s.outputs().to_vec())
        .unwrap_or_default();
    Ok(outputs
        .into_iter()
        .filter_map(|o| {
            let env = STACK_OUTPUTS
                .iter()
                .find(|(key, _)| Some(*key) == o.output_key())?
                .1;
            Some((env.to_string(), o.output_value()?.to_string()))
        })
        .collect())
}

fn config_of(lookup: Lookup<'_>) -> Result<FunctionConfig, AdminError> {
    FunctionConfig::from_lookup(lookup).map_err(|e| usage(format!("{e} (or pass --stack NAME)")))
}

/// The operator, acting as an admin of `account`.
fn operator(account: &str) -> Principal {
    Principal {
        account_id: account.to_string(),
        user_id: "relay-admin".into(),
        role: Role::Admin,
        profile_claims: Default::default(),
        scopes: Vec::new(),
    }
}

/// Prints `secret` once, or writes it to `path` readable by its owner only.
fn reveal(out: &mut dyn Write, secret: &str, path: Option<&str>) -> Result<(), AdminError> {
    match path {
        None => writeln!(out, "secret: {secret}").map_err(failed),
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(path)
                .map_err(|e| usage(format!("--secret-file {path}: {e}")))?;
            writeln!(file, "{secret}").map_err(failed)?;
            writeln!(out, "secret: written to {path} (mode 0600)").map_err(failed)
        }
    }
}

/// Runs one command with `args` (without the program name); `env` is where the stack's
/// resources are named when no `--stack` is given.
pub async fn run(args: &[String], env: Lookup<'_>, out: &mut dyn Write) -> Result<(), AdminError> {
    let args = Args::parse(args)?;
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    // Arguments are judged before anything reaches AWS.
    let required: &[&str] = match words.as_slice() {
        ["create-account"] | ["keys", "create" | "list"] => &["account"],
        ["keys", "revoke"] => &["account", "kid"],
        ["token"] => &["account", "kid", "role", "sub"],
        ["redrive", _] | ["doctor"] => &[],
        [] => return Err(usage(USAGE)),
        other => return Err(usage(format!("unknown command {:?}", other.join(" ")))),
    };
    for name in required {
        args.required(name)?;
    }
    let sdk = adapters::wiring::load_aws_config().await;
    let outputs = match args.option("stack") {
        Some(stack) => Some(stack_outputs(&sdk, stack).await?),
        None => None,
    };
    let lookup = |name: &str| match &outputs {
        Some(outputs) => outputs.get(name).cloned(),
        None => env(name),
    };
    let backend = || -> Result<Backend, AdminError> {
        Ok(adapters::wiring::aws(
            &sdk,
            &config_of(&lookup)?,
            adapters::wiring::ALL_SERVICES,
        ))
    };
    let now = domain::now_ms();
    match words.as_slice() {
        ["create-account"] => {
            args.only(&["account", "name", "admin", "secret-file"])?;
            let account = args.required("account")?;
            let made = signing_keys::create_account(
                &backend()?,
                account,
                args.option("name").unwrap_or(account),
                args.option("admin").unwrap_or("admin"),
                now,
            )
            .await
            .map_err(|e| match e {
                signing_keys::SigningKeyError::InvalidAccountId
                | signing_keys::SigningKeyError::AccountExists(_) => usage(e.to_string()),
                other => failed(other),
            })?;
            writeln!(out, "account: {}", made.account.id).map_err(failed)?;
            writeln!(
                out,
                "widget_key: {}",
                made.account.widget_key.unwrap_or_default()
            )
            .map_err(failed)?;
            writeln!(out, "kid: {}", made.key.kid).map_err(failed)?;
            reveal(out, &made.key.secret, args.option("secret-file"))?;
            writeln!(out, "admin_token: {}", made.admin_token).map_err(failed)?;
            writeln!(out, "(the admin token is valid for one hour)").map_err(failed)
        }
        ["keys", "create"] => {
            args.only(&["account", "secret-file"])?;
            let operator = operator(args.required("account")?);
            let key = signing_keys::create(&backend()?, &operator, now)
                .await
                .map_err(failed)?;
            writeln!(out, "kid: {}", key.kid).map_err(failed)?;
            reveal(out, &key.secret, args.option("secret-file"))
        }
        ["keys", "list"] => {
            args.only(&["account"])?;
            let operator = operator(args.required("account")?);
            for key in signing_keys::list(&backend()?, &operator)
                .await
                .map_err(failed)?
            {
                writeln!(out, "{} {}", key.kid, domain::rfc3339(key.created_at)).map_err(failed)?;
            }
            Ok(())
        }
        ["keys", "revoke"] => {
            args.only(&["account", "kid"])?;
            let operator = operator(args.required("account")?);
            signing_keys::revoke(&backend()?, &operator, args.required("kid")?)
                .await
                .map_err(failed)?;
            writeln!(out, "revoked").map_err(failed)
        }
        ["token"] => {
            args.only(&["account", "kid", "role", "sub", "ttl"])?;
            let (account, kid) = (args.required("account")?, args.required("kid")?);
            let role = Role::parse(args.required("role")?)
                .ok_or_else(|| usage("--role is end_user, agent or admin"))?;
            let sub = args.required("sub")?;
            if !domain::ids::is_safe_identifier(sub) {
                return Err(usage("--sub takes letters, digits, '-', '_' or '.'"));
            }
            let ttl: i64 = match args.option("ttl") {
                None => 3600,
                Some(ttl) => ttl
                    .parse()
                    .ok()
                    .filter(|t| (1..=MAX_TOKEN_LIFETIME_SECS).contains(t))
                    .ok_or_else(|| usage("--ttl is 1 to 604800 seconds"))?,
            };
            let key = backend()?
                .store
                .get_signing_key(account, kid)
                .await
                .map_err(failed)?
                .ok_or_else(|| usage(format!("account {account} has no key {kid}")))?;
            let token = mint_token(account, kid, &key.secret, sub, role, now / 1000, ttl);
            writeln!(out, "{token}").map_err(failed)
        }
        ["redrive", queue] => {
            args.only(&[])?;
            let env_var = match *queue {
                "routing" => "ROUTING_QUEUE_URL",
                "settings-effects" => "SETTINGS_EFFECTS_QUEUE_URL",
                "attachment-events" => "ATTACHMENT_EVENTS_QUEUE_URL",
                "webhooks" => "WEBHOOK_QUEUE_URL",
                "reactions" => "REACTIONS_QUEUE_URL",
                "email-inbound" => "EMAIL_INBOUND_QUEUE_URL",
                other => return Err(usage(format!("no queue {other:?}; {USAGE}"))),
            };
            let url = lookup(env_var)
                .ok_or_else(|| usage(format!("{env_var} is not set (or pass --stack NAME)")))?;
            let moved = redrive(&aws_sdk_sqs::Client::new(&sdk), &url).await?;
            writeln!(out, "{moved} message(s) moved back to {queue}").map_err(failed)
        }
        ["doctor"] => {
            args.only(&[])?;
            let resources = infra::definition(infra::DEFAULT_PREFIX);
            let located = infra::Located::from_lookup(&resources, lookup);
            let mut problems = infra::check(&sdk, &resources, &located).await;
            let api = lookup("API_URL");
            if let Some(url) = &api {
                problems.extend(check_api(url).await);
            }
            for problem in &problems {
                writeln!(out, "problem: {problem}").map_err(failed)?;
            }
            if problems.is_empty() {
                writeln!(out, "ok: table, stream, indexes, TTL, queues, dead-letter queues and bucket notifications are as defined").map_err(failed)?;
                match api {
                    Some(url) => writeln!(out, "ok: the HTTP API at {url} answers as this product"),
                    None => writeln!(
                        out,
                        "note: API_URL not set (pass --stack NAME): the HTTP API was not checked"
                    ),
                }
                .map_err(failed)?;
                writeln!(out, "note: the WebSocket API is not checked").map_err(failed)?;
                Ok(())
            } else {
                Err(AdminError::Unhealthy(problems.len()))
            }
        }
        _ => Err(usage(USAGE)),
    }
}

/// The HTTP API at `url` answers as this product does: its public widget route, asked without
/// a key, gets the product's JSON error with a stable code (or its config), not a gateway's
/// error page or no answer at all.
async fn check_api(url: &str) -> Option<infra::Problem> {
    let target = format!("{}/v1/widget/config", url.trim_end_matches('/'));
    let problem = |what: String| infra::Problem {
        resource: url.to_string(),
        what,
        fix: "deploy the stack again (sam deploy); its ApiUrl output is the API to check".into(),
    };
    let client = match reqwest_webhooks::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(error) => return Some(problem(format!("no HTTP client: {error}"))),
    };
    let answer = match client.get(&target).send().await {
        Ok(answer) => answer,
        Err(error) => return Some(problem(format!("no answer from {target}: {error}"))),
    };
    let status = answer.status();
    let body: serde_json::Value = answer.json().await.unwrap_or_default();
    let ours =
        status.is_success() || (status.is_client_error() && body["error"]["code"].is_string());
    (!ours).then(|| {
        problem(format!(
            "{target} answered {status} without the product's error body"
        ))
    })
}

/// Moves every message of `source`'s dead-letter queue (named by its redrive policy) back to
/// `source`: sent there first, then deleted from the dead-letter queue, so a crash in between
/// duplicates a message rather than losing one (every consumer is idempotent).
pub async fn redrive(sqs: &aws_sdk_sqs::Client, source: &str) -> Result<usize, AdminError> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(source)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .map_err(|e| failed(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .and_then(|p| p["deadLetterTargetArn"].as_str().map(str::to_string))
        .ok_or_else(|| failed(format!("{source} has no dead-letter queue")))?;
    let dlq = sqs
        .get_queue_url()
        .queue_name(arn.rsplit(':').next().unwrap_or_default())
        .send()
        .await
        .map_err(|e| failed(aws_sdk_sqs::error::DisplayErrorContext(e)))?
        .queue_url
        .ok_or_else(|| failed("the dead-letter queue has no URL"))?;
    let mut moved = 0;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&dlq)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| failed(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(moved);
        }
        for message in messages {
            sqs.send_message()
                .queue_url(source)
                .message_body(message.body().unwrap_or_default())
                .set_message_attributes(message.message_attributes)
                .send()
                .await
                .map_err(|e| failed(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            if let Some(receipt) = message.receipt_handle {
                sqs.delete_message()
                    .queue_url(&dlq)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|e| failed(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            }
            moved += 1;
        }
    }
}

//! Webhook deliveries over HTTPS (`WebhookSender`), with the SSRF guard of the spec: only
//! `https` URLs (and, locally with `RELAY_ALLOW_LOOPBACK_WEBHOOKS=1`, `http` to loopback),
//! and every address a name resolves to must be public. The check is in the client's DNS
//! resolver, so the connection goes to the very address that was checked (no second lookup
//! an attacker's DNS could answer differently); redirects are never followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest_webhooks as reqwest;

use domain::webhooks::{check_url, is_public};
use use_cases::ports::WebhookSender;

/// How long a receiver has to answer (spec: 10 s).
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves a host to addresses (the system resolver; tests substitute their own).
pub type Lookup = Arc<dyn Fn(String, u16) -> LookupFuture + Send + Sync>;
pub type LookupFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;

fn system_lookup() -> Lookup {
    Arc::new(|host, port| {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    })
}

/// Whether a delivery may connect to `ip`.
fn allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    is_public(ip) || (allow_loopback && ip.is_loopback())
}

/// The resolver the client uses: refuses a name any of whose addresses is not allowed.
struct GuardedResolver {
    lookup: Lookup,
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (lookup, allow_loopback) = (self.lookup.clone(), self.allow_loopback);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses = lookup(host.clone(), 0).await?;
            if addresses.is_empty() {
                return Err(format!("{host} resolves to no address").into());
            }
            if let Some(refused) = addresses.iter().find(|a| !allowed(a.ip(), allow_loopback)) {
                return Err(
                    format!("{host} resolves to a non-public address ({})", refused.ip()).into(),
                );
            }
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// Posts deliveries with one pooled client.
pub struct HttpWebhookSender {
    client: reqwest::Client,
    allow_loopback: bool,
}

impl HttpWebhookSender {
    /// `allow_loopback`: the local gateway's `RELAY_ALLOW_LOOPBACK_WEBHOOKS=1`; never on AWS.
    pub fn new(allow_loopback: bool, timeout: Duration) -> Result<Self, String> {
        Self::with_lookup(allow_loopback, timeout, system_lookup())
    }

    pub fn with_lookup(
        allow_loopback: bool,
        timeout: Duration,
        lookup: Lookup,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver {
                lookup,
                allow_loopback,
            }))
            .user_agent("Relay-Webhooks/1")
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self {
            client,
            allow_loopback,
        })
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn post(
        &self,
        url: &str,
        body: &str,
        headers: &[(&'static str, String)],
    ) -> Result<u16, String> {
        // Address literals never reach the resolver: they are judged here.
        check_url(url, self.allow_loopback).map_err(|e| e.to_string())?;
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) if error.is_timeout() => Err("timed out".into()),
            Err(error) => Err(describe(&error)),
        }
    }
}

/// The innermost cause: "resolves to a non-public address" rather than "error sending request".
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

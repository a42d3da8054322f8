//! The visitor's browser, OS and device class from a request's `User-Agent` (visitor context,
//! #39 item 6), read with woothee (a maintained parser of Project Woothee's dataset), never
//! by hand. Unknown parts stay unknown.

use domain::visitor_context::{Client, DeviceClass};

/// Longest `User-Agent` read; longer ones are not real browsers' and are left unparsed.
const MAX_USER_AGENT: usize = 1_024;

/// What the `User-Agent` header says of the caller's browser.
pub fn client_of(headers: &http::HeaderMap) -> Client {
    let Some(agent) = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= MAX_USER_AGENT)
    else {
        return Client::default();
    };
    let Some(found) = woothee::parser::Parser::new().parse(agent) else {
        return Client::default();
    };
    let known =
        |s: &str| (!s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN).then(|| s.to_string());
    let with_version = |name: &str, version: &str| {
        known(name).map(|name| match known(version) {
            Some(version) => format!("{name} {version}"),
            None => name,
        })
    };
    let device = match found.category {
        "pc" => DeviceClass::Desktop,
        "smartphone" | "mobilephone" => DeviceClass::Mobile,
        _ => DeviceClass::Other,
    };
    Client {
        browser: with_version(found.name, found.version),
        os: with_version(found.os, &found.os_version),
        device: Some(device),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(agent: &str) -> Client {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::USER_AGENT, agent.parse().unwrap());
        client_of(&headers)
    }

    #[test]
    fn desktop_and_phone_browsers_are_named() {
        let mac = client("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36");
        assert_eq!(mac.device, Some(DeviceClass::Desktop));
        assert!(
            mac.browser
                .as_deref()
                .is_some_and(|b| b.starts_with("Chrome 120")),
            "{mac:?}"
        );
        assert!(
            mac.os.as_deref().is_some_and(|o| o.starts_with("Mac OSX")),
            "{mac:?}"
        );
        let iphone = client("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1");
        assert_eq!(iphone.device, Some(DeviceClass::Mobile));
        assert!(
            iphone
                .os
                .as_deref()
                .is_some_and(|o| o.starts_with("iPhone")),
            "{iphone:?}"
        );
    }

    #[test]
    fn no_or_odd_agents_say_nothing() {
        assert_eq!(client_of(&http::HeaderMap::new()), Client::default());
        assert_eq!(client(&"x".repeat(MAX_USER_AGENT + 1)), Client::default());
        let curl = client("curl/8.5.0");
        assert_eq!(curl.device, Some(DeviceClass::Other), "{curl:?}");
        let unknown = client("SomethingNew/1.0");
        assert_eq!((unknown.browser, unknown.os), (None, None));
    }
}

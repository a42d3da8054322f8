//! SES's events about sent email (R35: "a bounce or complaint stops emails to that address"),
//! as its configuration set publishes them to SNS and SNS delivers them to a queue: an SNS
//! envelope whose `Message` is SES's event. A permanent bounce and a complaint suppress their
//! recipients; a transient bounce (a full mailbox, a greylisting server) does not.

use serde::Deserialize;

/// An SNS notification as SQS receives it (raw delivery off).
#[derive(Debug, Deserialize)]
pub struct SnsEnvelope {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Message")]
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesEvent {
    #[serde(alias = "notificationType")]
    event_type: String,
    #[serde(default)]
    bounce: Option<Bounce>,
    #[serde(default)]
    complaint: Option<Complaint>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounced_recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    #[serde(default)]
    complained_recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
}

/// The addresses an SES event says to stop emailing, with why (`bounce`, `complaint`); empty
/// for any other event. `Err` for a message that is not an SES event at all.
pub fn addresses_to_suppress(
    envelope: &SnsEnvelope,
) -> Result<Vec<(String, &'static str)>, String> {
    let event: SesEvent =
        serde_json::from_str(&envelope.message).map_err(|e| format!("not an SES event: {e}"))?;
    Ok(match event.event_type.as_str() {
        "Bounce" => event
            .bounce
            .filter(|b| b.bounce_type == "Permanent")
            .map(|b| b.bounced_recipients)
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.email_address, "bounce"))
            .collect(),
        "Complaint" => event
            .complaint
            .map(|c| c.complained_recipients)
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.email_address, "complaint"))
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(event: serde_json::Value) -> SnsEnvelope {
        SnsEnvelope {
            kind: "Notification".into(),
            message: event.to_string(),
        }
    }

    /// The shapes from SES's developer guide ("Contents of event data that Amazon SES publishes
    /// to Amazon SNS").
    #[test]
    fn permanent_bounces_and_complaints_suppress_transient_bounces_and_deliveries_do_not() {
        let bounce = |kind: &str| {
            envelope(serde_json::json!({
                "eventType": "Bounce",
                "bounce": {"bounceType": kind, "bounceSubType": "General",
                    "bouncedRecipients": [{"emailAddress": "a@example.org", "action": "failed"}],
                    "timestamp": "2026-12-07T10:00:00.000Z", "feedbackId": "f"},
                "mail": {"messageId": "m", "destination": ["a@example.org"]}
            }))
        };
        assert_eq!(
            addresses_to_suppress(&bounce("Permanent")).unwrap(),
            [("a@example.org".to_string(), "bounce")]
        );
        assert!(addresses_to_suppress(&bounce("Transient"))
            .unwrap()
            .is_empty());
        let complaint = envelope(serde_json::json!({
            "eventType": "Complaint",
            "complaint": {"complainedRecipients": [{"emailAddress": "b@example.org"}],
                "timestamp": "2026-12-07T10:00:00.000Z", "feedbackId": "f"},
            "mail": {"messageId": "m"}
        }));
        assert_eq!(
            addresses_to_suppress(&complaint).unwrap(),
            [("b@example.org".to_string(), "complaint")]
        );
        let delivery = envelope(serde_json::json!({"eventType": "Delivery", "mail": {}}));
        assert!(addresses_to_suppress(&delivery).unwrap().is_empty());
        let junk = SnsEnvelope {
            kind: "Notification".into(),
            message: "hello".into(),
        };
        assert!(addresses_to_suppress(&junk).is_err());
    }
}

//! The one route table of the HTTP API: every (method, path pattern) with the function that
//! owns it and the operation it performs. Each function dispatches on the operation it matched,
//! the local gateway picks the function from it, a test checks `template.yaml`'s HttpApi
//! events against it and another checks `docs/openapi.yaml` against it (operation ids
//! included). A route added or removed in one place and not the others fails a test.

use crate::api::{ApiError, ApiRequest};
use domain::integrations::IntegrationScope;

/// What a route does; named as `docs/openapi.yaml`'s `operationId`s (camelCase there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    ListConversations,
    CreateConversation,
    GetConversation,
    ListMessages,
    PostMessage,
    PostEvent,
    Handoff,
    AdmitAttachment,
    GetAttachment,
    CompleteAttachment,
    GetMe,
    SetStatus,
    ListOffers,
    SetCapacity,
    SetGroups,
    AcceptOffer,
    EndSession,
    CloseTicket,
    GetSettings,
    PatchSettings,
    ListSettingsAudit,
    MessagingReadiness,
    GetWorkspace,
    PutWorkspace,
    GetWidgetConfig,
    CreateVisitor,
    IdentifyVisitor,
    ShareVisitorContext,
    ListInbox,
    ChangeConversationFields,
    TransferConversation,
    ConversationHistory,
    ListEndUserConversations,
    RedactMessage,
    EraseEndUser,
    CreateIntegration,
    ListIntegrations,
    DeleteIntegration,
    SubmitCsat,
    CsatReport,
    MessagingReport,
    CreateWebhook,
    ListWebhooks,
    DeleteWebhook,
    ListWebhookDeliveries,
    CreateSigningKey,
    ListSigningKeys,
    RevokeSigningKey,
    CreateArticle,
    ListArticles,
    SearchArticles,
    GetArticle,
    ReplaceArticle,
    DeleteArticle,
    CreateMacro,
    ListMacros,
    ListMacroAudit,
    GetMacro,
    ReplaceMacro,
    DeleteMacro,
    ApplyMacro,
}

impl Operation {
    /// The integration-key scope that may call this operation (spec "Integrations"); `None`:
    /// tokens only. A key is refused (403 `insufficient_scope`) everywhere else, so a route
    /// never meets a caller it was not written for.
    pub fn integration_scope(self) -> Option<IntegrationScope> {
        match self {
            // A bot reads what it answers, posts, and passes control.
            Op::GetConversation | Op::ListMessages | Op::PostMessage | Op::Handoff => {
                Some(IntegrationScope::Bot)
            }
            Op::CreateWebhook
            | Op::ListWebhooks
            | Op::DeleteWebhook
            | Op::ListWebhookDeliveries => Some(IntegrationScope::Webhooks),
            _ => None,
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// Segments are literals or `{name}` parameters, as in the OpenAPI document and the
    /// template (`/v1/conversations/{cid}/messages`).
    pub pattern: &'static str,
    /// The Lambda function (folder, binary and SAM resource stem) that serves it.
    pub function: &'static str,
    pub operation: Operation,
}

const fn route(
    method: &'static str,
    pattern: &'static str,
    function: &'static str,
    operation: Operation,
) -> Route {
    Route {
        method,
        pattern,
        function,
        operation,
    }
}

pub const INGEST_MESSAGE: &str = "ingest-message";
pub const UPLOAD_ATTACHMENT: &str = "upload-attachment";
pub const AGENT_PRESENCE: &str = "agent-presence";
pub const END_SESSION: &str = "end-session";
pub const UPDATE_SETTINGS: &str = "update-settings";
pub const WIDGET_API: &str = "widget-api";
pub const AGENT_WORKSPACE: &str = "agent-workspace";
pub const INTEGRATIONS: &str = "integrations";

use Operation as Op;

/// Every route of the HTTP API: one row each (method, path pattern, owning function,
/// operation), kept as a table by hand.
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    route("GET",    "/v1/conversations",                                  INGEST_MESSAGE,    Op::ListConversations),
    route("POST",   "/v1/conversations",                                  INGEST_MESSAGE,    Op::CreateConversation),
    route("GET",    "/v1/conversations/{cid}",                            INGEST_MESSAGE,    Op::GetConversation),
    route("GET",    "/v1/conversations/{cid}/messages",                   INGEST_MESSAGE,    Op::ListMessages),
    route("POST",   "/v1/conversations/{cid}/messages",                   INGEST_MESSAGE,    Op::PostMessage),
    route("POST",   "/v1/conversations/{cid}/events",                     INGEST_MESSAGE,    Op::PostEvent),
    route("POST",   "/v1/conversations/{cid}/handoff",                    INGEST_MESSAGE,    Op::Handoff),
    route("POST",   "/v1/conversations/{cid}/attachments",                UPLOAD_ATTACHMENT, Op::AdmitAttachment),
    route("GET",    "/v1/conversations/{cid}/attachments/{aid}",          UPLOAD_ATTACHMENT, Op::GetAttachment),
    route("POST",   "/v1/conversations/{cid}/attachments/{aid}/complete", UPLOAD_ATTACHMENT, Op::CompleteAttachment),
    route("GET",    "/v1/agents/me",                                      AGENT_PRESENCE,    Op::GetMe),
    route("PUT",    "/v1/agents/me/status",                               AGENT_PRESENCE,    Op::SetStatus),
    route("GET",    "/v1/agents/me/offers",                               AGENT_PRESENCE,    Op::ListOffers),
    route("PUT",    "/v1/agents/{agent_id}/capacity",                     AGENT_PRESENCE,    Op::SetCapacity),
    route("PUT",    "/v1/agents/{agent_id}/groups",                       AGENT_PRESENCE,    Op::SetGroups),
    route("POST",   "/v1/conversations/{cid}/accept",                     AGENT_PRESENCE,    Op::AcceptOffer),
    route("POST",   "/v1/conversations/{cid}/end",                        END_SESSION,       Op::EndSession),
    route("POST",   "/v1/conversations/{cid}/close",                      END_SESSION,       Op::CloseTicket),
    route("GET",    "/v1/settings",                                       UPDATE_SETTINGS,   Op::GetSettings),
    route("PATCH",  "/v1/settings",                                       UPDATE_SETTINGS,   Op::PatchSettings),
    route("GET",    "/v1/settings/audit",                                 UPDATE_SETTINGS,   Op::ListSettingsAudit),
    route("GET",    "/v1/settings/messaging-readiness",                   UPDATE_SETTINGS,   Op::MessagingReadiness),
    route("GET",    "/v1/settings/workspace",                             UPDATE_SETTINGS,   Op::GetWorkspace),
    route("PUT",    "/v1/settings/workspace",                             UPDATE_SETTINGS,   Op::PutWorkspace),
    route("GET",    "/v1/widget/config",                                  WIDGET_API,        Op::GetWidgetConfig),
    route("POST",   "/v1/widget/visitors",                                WIDGET_API,        Op::CreateVisitor),
    route("POST",   "/v1/widget/identify",                                WIDGET_API,        Op::IdentifyVisitor),
    route("PUT",    "/v1/conversations/{cid}/visitor-context",            WIDGET_API,        Op::ShareVisitorContext),
    route("GET",    "/v1/inbox",                                          AGENT_WORKSPACE,   Op::ListInbox),
    // A path's first route names its owner, which also answers its other methods (405).
    route("PATCH",  "/v1/conversations/{cid}",                            AGENT_WORKSPACE,   Op::ChangeConversationFields),
    route("POST",   "/v1/conversations/{cid}/transfer",                   AGENT_WORKSPACE,   Op::TransferConversation),
    route("GET",    "/v1/conversations/{cid}/history",                    AGENT_WORKSPACE,   Op::ConversationHistory),
    route("GET",    "/v1/end-users/{user_id}/conversations",              AGENT_WORKSPACE,   Op::ListEndUserConversations),
    route("POST",   "/v1/conversations/{cid}/messages/{seq}/redact",      AGENT_WORKSPACE,   Op::RedactMessage),
    route("DELETE", "/v1/end-users/{user_id}",                            AGENT_WORKSPACE,   Op::EraseEndUser),
    route("POST",   "/v1/articles",                                       AGENT_WORKSPACE,   Op::CreateArticle),
    route("GET",    "/v1/articles",                                       AGENT_WORKSPACE,   Op::ListArticles),
    route("GET",    "/v1/articles/search",                                AGENT_WORKSPACE,   Op::SearchArticles),
    route("GET",    "/v1/articles/{article_id}",                          AGENT_WORKSPACE,   Op::GetArticle),
    route("PUT",    "/v1/articles/{article_id}",                          AGENT_WORKSPACE,   Op::ReplaceArticle),
    route("DELETE", "/v1/articles/{article_id}",                          AGENT_WORKSPACE,   Op::DeleteArticle),
    route("POST",   "/v1/macros",                                         AGENT_WORKSPACE,   Op::CreateMacro),
    route("GET",    "/v1/macros",                                         AGENT_WORKSPACE,   Op::ListMacros),
    route("GET",    "/v1/macros/audit",                                   AGENT_WORKSPACE,   Op::ListMacroAudit),
    route("GET",    "/v1/macros/{macro_id}",                              AGENT_WORKSPACE,   Op::GetMacro),
    route("PUT",    "/v1/macros/{macro_id}",                              AGENT_WORKSPACE,   Op::ReplaceMacro),
    route("DELETE", "/v1/macros/{macro_id}",                              AGENT_WORKSPACE,   Op::DeleteMacro),
    route("POST",   "/v1/conversations/{cid}/macros/{macro_id}/apply",    AGENT_WORKSPACE,   Op::ApplyMacro),
    route("POST",   "/v1/integrations",                                   INTEGRATIONS,      Op::CreateIntegration),
    route("GET",    "/v1/integrations",                                   INTEGRATIONS,      Op::ListIntegrations),
    route("DELETE", "/v1/integrations/{integration_id}",                  INTEGRATIONS,      Op::DeleteIntegration),
    route("POST",   "/v1/conversations/{cid}/csat",                       END_SESSION,       Op::SubmitCsat),
    route("GET",    "/v1/reports/csat",                                   END_SESSION,       Op::CsatReport),
    route("GET",    "/v1/reports/messaging",                              END_SESSION,       Op::MessagingReport),
    route("POST",   "/v1/webhooks",                                       INTEGRATIONS,      Op::CreateWebhook),
    route("GET",    "/v1/webhooks",                                       INTEGRATIONS,      Op::ListWebhooks),
    route("DELETE", "/v1/webhooks/{webhook_id}",                          INTEGRATIONS,      Op::DeleteWebhook),
    route("GET",    "/v1/webhooks/{webhook_id}/deliveries",               INTEGRATIONS,      Op::ListWebhookDeliveries),
    route("POST",   "/v1/signing-keys",                                   INTEGRATIONS,      Op::CreateSigningKey),
    route("GET",    "/v1/signing-keys",                                   INTEGRATIONS,      Op::ListSigningKeys),
    route("DELETE", "/v1/signing-keys/{kid}",                             INTEGRATIONS,      Op::RevokeSigningKey),
];

/// The function that owns `pattern`: the function of its first route. It is the one that
/// gets the path's every method (`ANY` in the template) and answers a wrong one with 405;
/// another function's route on the same path is an explicit method route.
pub fn owner_of(pattern: &str) -> Option<&'static str> {
    ROUTES
        .iter()
        .find(|r| r.pattern == pattern)
        .map(|r| r.function)
}

/// A path's parameters, by the names of its pattern (`cid` in `/v1/conversations/{cid}`).
type PathParams = Vec<(&'static str, String)>;

/// A request matched to its route, with the path's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub route: &'static Route,
    params: PathParams,
}

impl Matched {
    pub fn operation(&self) -> Operation {
        self.route.operation
    }

    /// The integration-key scope this route admits ([`Operation::integration_scope`]).
    pub fn integration_scope(&self) -> Option<IntegrationScope> {
        self.route.operation.integration_scope()
    }

    /// The path parameter `name` (`cid` in `/v1/conversations/{cid}`); empty if the pattern
    /// has none of that name.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

/// Where a (method, path) leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Found(Matched),
    /// The path is served (by `function`), not with this method: `allow` lists those it takes.
    MethodNotAllowed {
        function: &'static str,
        allow: Vec<&'static str>,
    },
    NotFound,
}

/// The parameters of `path` under `pattern`, if it matches.
fn match_pattern(pattern: &'static str, path: &str) -> Option<PathParams> {
    let mut wanted = pattern.split('/').filter(|s| !s.is_empty());
    let mut given = path.split('/').filter(|s| !s.is_empty());
    let mut params = Vec::new();
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) => match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) => params.push((name, g.to_string())),
                None if w == g => {}
                None => return None,
            },
            _ => return None,
        }
    }
}

/// How many literal segments a pattern has: where two patterns match a path, the more literal
/// one wins (`/v1/agents/me/status` over `/v1/agents/{agent_id}/…`), as in API Gateway.
fn literal_segments(pattern: &str) -> usize {
    pattern
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .count()
}

/// Resolves `method` and `path` against the routes that `accept` keeps.
fn resolve_among(method: &str, path: &str, accept: impl Fn(&Route) -> bool) -> Resolution {
    // The most literal matching pattern, with the parameters it read from the path.
    let mut best: Option<(usize, &'static Route, PathParams)> = None;
    for route in ROUTES.iter().filter(|r| accept(r)) {
        if let Some(params) = match_pattern(route.pattern, path) {
            let specificity = literal_segments(route.pattern);
            if best.as_ref().is_none_or(|(s, _, _)| specificity > *s) {
                best = Some((specificity, route, params));
            }
        }
    }
    let Some((_, matched, params)) = best else {
        return Resolution::NotFound;
    };
    // Every route of that pattern shares its parameters; the method picks among them. The
    // methods allowed are the path's, whichever function serves each.
    let on_path = || ROUTES.iter().filter(|r| r.pattern == matched.pattern);
    match on_path().find(|r| r.method.eq_ignore_ascii_case(method) && accept(r)) {
        Some(route) => Resolution::Found(Matched { route, params }),
        None => Resolution::MethodNotAllowed {
            function: owner_of(matched.pattern).unwrap_or(matched.function),
            allow: on_path().map(|r| r.method).collect(),
        },
    }
}

/// Where a request leads in the whole API (the local gateway's view).
pub fn resolve(method: &str, path: &str) -> Resolution {
    resolve_among(method, path, |_| true)
}

/// The function that serves `path`, as API Gateway routes it (every method of a path goes to
/// its function, which answers a wrong one with 405 itself); `None` for a path no route has.
pub fn function_for(method: &str, path: &str) -> Option<&'static str> {
    match resolve(method, path) {
        Resolution::Found(matched) => Some(matched.route.function),
        Resolution::MethodNotAllowed { function, .. } => Some(function),
        Resolution::NotFound => None,
    }
}

/// The route of `request` among `function`'s own routes: 404 `route_not_found` for a path it
/// does not serve, 405 `method_not_allowed` with `Allow` for a method it does not take there.
pub fn route_of(function: &str, request: &ApiRequest) -> Result<Matched, ApiError> {
    match resolve_among(request.method().as_str(), request.uri().path(), |r| {
        r.function == function
    }) {
        Resolution::Found(matched) => Ok(matched),
        Resolution::MethodNotAllowed { allow, .. } => Err(ApiError::method_not_allowed(&allow)),
        Resolution::NotFound => Err(ApiError::route_not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_resolves_to_its_route_and_parameters() {
        let Resolution::Found(matched) = resolve("POST", "/v1/conversations/c_1/messages") else {
            panic!("not found");
        };
        assert_eq!(matched.operation(), Operation::PostMessage);
        assert_eq!(matched.route.function, INGEST_MESSAGE);
        assert_eq!(matched.param("cid"), "c_1");
    }

    #[test]
    fn a_literal_segment_wins_over_a_parameter() {
        let Resolution::Found(matched) = resolve("PUT", "/v1/agents/me/status") else {
            panic!("not found");
        };
        assert_eq!(matched.operation(), Operation::SetStatus);
        let Resolution::Found(matched) = resolve("PUT", "/v1/agents/ag-7/capacity") else {
            panic!("not found");
        };
        assert_eq!(matched.param("agent_id"), "ag-7");
    }

    #[test]
    fn a_wrong_method_on_a_served_path_lists_the_allowed_ones() {
        assert_eq!(
            resolve("DELETE", "/v1/conversations/c_1/messages"),
            Resolution::MethodNotAllowed {
                function: INGEST_MESSAGE,
                allow: vec!["GET", "POST"]
            }
        );
        assert_eq!(
            resolve("GET", "/v1/conversations/c_1/end"),
            Resolution::MethodNotAllowed {
                function: END_SESSION,
                allow: vec!["POST"]
            }
        );
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in [
            "/",
            "/v1",
            "/v1/conversations/c_1/nothing",
            "/v1/conversations/c_1/messages/2",
        ] {
            assert_eq!(resolve("GET", path), Resolution::NotFound, "{path}");
        }
    }

    #[test]
    fn every_route_is_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.pattern == b.pattern && a.method == b.method),
                    "{} {} twice",
                    a.method,
                    a.pattern
                );
                assert_ne!(a.operation, b.operation, "{:?} twice", a.operation);
            }
        }
    }

    #[test]
    fn a_path_shared_by_two_functions_sends_each_method_to_its_own() {
        let found = |method| match resolve(method, "/v1/conversations/c_1") {
            Resolution::Found(matched) => matched.route.function,
            other => panic!("{other:?}"),
        };
        assert_eq!(found("GET"), INGEST_MESSAGE);
        assert_eq!(found("PATCH"), AGENT_WORKSPACE);
        // The owner answers the others, naming every method of the path.
        assert_eq!(
            resolve("DELETE", "/v1/conversations/c_1"),
            Resolution::MethodNotAllowed {
                function: INGEST_MESSAGE,
                allow: vec!["GET", "PATCH"]
            }
        );
    }
}
